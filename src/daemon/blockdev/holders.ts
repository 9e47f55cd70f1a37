// Who keeps a block device busy: mounts (in any mount namespace), swap, open file
// descriptors of any process, stacked kernel devices (sysfs holders) and loop devices
// backed by it. DRBD refuses demote and down while its device is open; this is how the
// user-space device finds out, since no kernel open count is exported for it.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { type DevNo, blockDevOf, parseDev, sameDev } from './devno.js';

export type BlockDeviceHolder =
  | { kind: 'mount'; mountPoint: string; fsType: string; source: string; mountNamespace: string }
  | { kind: 'swap'; path: string }
  | { kind: 'open'; pid: number; command: string; fd: number; path: string }
  | { kind: 'holder'; name: string }
  | { kind: 'loop'; loopDevice: string; backingFile: string };

/** What blockDeviceHolders needs of a device: its numbers and the names it goes by. */
export interface HeldDevice {
  major: number;
  minor: number;
  /** Node names that reach the device (/dev/drbdN and the kernel's own /dev/loopN or /dev/nbdN). */
  paths: readonly string[];
  /** The kernel's name for it in /sys/block (loop0, nbd3). */
  sysName: string;
}

export function describeHolder(h: BlockDeviceHolder): string {
  switch (h.kind) {
    case 'mount':
      return `mounted on ${h.mountPoint} (${h.fsType}, mount namespace ${h.mountNamespace})`;
    case 'swap':
      return `used as swap (${h.path})`;
    case 'open':
      return `open by pid ${h.pid} (${h.command}) as fd ${h.fd} -> ${h.path}`;
    case 'holder':
      return `held by kernel device ${h.name}`;
    case 'loop':
      return `backing file of ${h.loopDevice}`;
  }
}

export async function blockDeviceHolders(dev: HeldDevice): Promise<BlockDeviceHolder[]> {
  const parts = await Promise.all([mounts(dev), swaps(dev), openFds(dev), sysfsHolders(dev), loopsOnTop(dev)]);
  return parts.flat();
}

async function pids(): Promise<number[]> {
  return (await readdir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number);
}

// A mount made inside a container or `unshare -m` is invisible in our own mountinfo but
// keeps the device just as busy, so read one mountinfo per distinct mount namespace.
async function mounts(dev: DevNo): Promise<BlockDeviceHolder[]> {
  const seen = new Set<string>();
  const found: BlockDeviceHolder[] = [];
  for (const pid of ['self', ...(await pids()).map(String)]) {
    let ns: string;
    let text: string;
    try {
      ns = await readlink(`/proc/${pid}/ns/mnt`);
      if (seen.has(ns)) continue;
      seen.add(ns);
      text = await readFile(`/proc/${pid}/mountinfo`, 'utf8');
    } catch {
      continue; // the process exited while we looked
    }
    for (const line of text.split('\n')) {
      const f = line.split(' ');
      if (f.length < 10 || !sameDev(parseDev(f[2]!), dev)) continue;
      const sep = f.indexOf('-');
      found.push({
        kind: 'mount',
        mountPoint: unescapeMountinfo(f[4]!),
        fsType: f[sep + 1] ?? '?',
        source: unescapeMountinfo(f[sep + 2] ?? '?'),
        mountNamespace: ns.replace(/^mnt:\[(\d+)\]$/, '$1'),
      });
    }
  }
  return found;
}

/** mountinfo writes space, tab, newline and backslash as \ooo octal escapes. */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

async function swaps(dev: HeldDevice): Promise<BlockDeviceHolder[]> {
  let text: string;
  try {
    text = await readFile('/proc/swaps', 'utf8');
  } catch {
    return [];
  }
  const found: BlockDeviceHolder[] = [];
  for (const line of text.split('\n').slice(1)) {
    const path = unescapeMountinfo(line.split(/\s+/)[0] ?? '');
    if (!path) continue;
    const d = await blockDevOf(path);
    if (d && sameDev(d, dev)) found.push({ kind: 'swap', path });
  }
  return found;
}

// Only fds whose target is one of our names or lies under /dev are stat()ed: stat on a
// file of a hung FUSE filesystem would hang this scan (and with it demote), and block
// special files live under /dev in practice. A node made elsewhere by hand is missed.
async function openFds(dev: HeldDevice): Promise<BlockDeviceHolder[]> {
  const found: BlockDeviceHolder[] = [];
  for (const pid of await pids()) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      const link = `/proc/${pid}/fd/${fd}`;
      let target: string;
      try {
        target = await readlink(link);
      } catch {
        continue;
      }
      const name = target.replace(/ \(deleted\)$/, '');
      if (!dev.paths.includes(name) && !name.startsWith('/dev/')) continue;
      const d = await blockDevOf(link);
      if (!d || !sameDev(d, dev)) continue;
      const command = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
      found.push({ kind: 'open', pid, command, fd: Number(fd), path: target });
    }
  }
  return found;
}

async function sysfsHolders(dev: HeldDevice): Promise<BlockDeviceHolder[]> {
  const names = await readdir(`/sys/block/${dev.sysName}/holders`).catch(() => [] as string[]);
  return names.map((name) => ({ kind: 'holder', name }));
}

// A loop device whose backing file is our device keeps it open inside the kernel, with
// no process fd and no sysfs holder link to show for it.
async function loopsOnTop(dev: HeldDevice): Promise<BlockDeviceHolder[]> {
  const found: BlockDeviceHolder[] = [];
  for (const name of await readdir('/sys/block')) {
    if (!name.startsWith('loop') || name === dev.sysName) continue;
    const backing = await readFile(`/sys/block/${name}/loop/backing_file`, 'utf8').catch(() => '');
    const file = backing.trim().replace(/ \(deleted\)$/, '');
    if (!file || (!dev.paths.includes(file) && !file.startsWith('/dev/'))) continue; // see openFds
    const d = await blockDevOf(file);
    if (d && sameDev(d, dev)) found.push({ kind: 'loop', loopDevice: `/dev/${name}`, backingFile: file });
  }
  return found;
}

/** The /sys/block name of a device node path, e.g. /dev/loop3 → loop3. */
export function sysNameOf(devPath: string): string {
  return basename(devPath);
}
