// Shared by test/system/blockdev.test.ts and test/bench/blockdev.bench.test.ts: an nbdkit
// stand-in for the udrbd NBD server, and a teardown that finds everything a test may
// have left under its directory (mounts, loop devices, FUSE mounts, helper processes)
// without relying on the handles the test kept, since a failing test may have lost them.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type BlockDeviceHandle, BlockDeviceInUseError } from '../../src/daemon/blockdev/index.js';

export function requireRoot(): void {
  if (process.geteuid?.() !== 0) {
    throw new Error('test/system/blockdev needs root (mknod, losetup, mount); run the suite as root');
  }
}

export interface Nbdkit {
  socket: string;
  pid: number;
  logFile?: string;
  stop(): Promise<void>;
}

/** nbdkit serving `plugin args` on a unix socket, in the foreground so it dies with us. */
export async function startNbdkit(dir: string, name: string, pluginArgs: string[], opts: { log?: boolean; filters?: string[] } = {}): Promise<Nbdkit> {
  const socket = join(dir, `${name}.sock`);
  const pidFile = join(dir, `${name}.pid`);
  const logFile = opts.log ? join(dir, `${name}.requests.log`) : undefined;
  rmSync(socket, { force: true });
  rmSync(pidFile, { force: true });
  const filters = [...(opts.filters ?? []), ...(logFile ? ['log'] : [])].map((f) => `--filter=${f}`);
  const args = ['-f', '--exit-with-parent', '--unix', socket, '--pidfile', pidFile, ...filters, ...pluginArgs];
  if (logFile) args.push(`logfile=${logFile}`);
  const child: ChildProcess = spawn('nbdkit', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  let exited = false;
  child.on('exit', () => (exited = true));
  for (let i = 0; i < 200 && !existsSync(pidFile); i++) {
    if (exited) throw new Error(`nbdkit ${args.join(' ')} exited early`);
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!existsSync(pidFile)) throw new Error('nbdkit did not start');
  return {
    socket,
    pid: child.pid!,
    logFile,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      for (let i = 0; i < 100 && !exited; i++) await new Promise((r) => setTimeout(r, 20));
      if (!exited) child.kill('SIGKILL');
    },
  };
}

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Mount points (in our namespace) at or below `dir`, deepest first. */
export function mountsUnder(dir: string, fsTypePrefix = ''): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f.length > 5 && (f[4] === dir || f[4]!.startsWith(dir + '/')))
    .filter((f) => (f[f.indexOf('-') + 1] ?? '').startsWith(fsTypePrefix))
    .map((f) => f[4]!)
    .sort((a, b) => b.length - a.length);
}

/** Loop devices whose backing file lies under `dir`. */
export function loopsUnder(dir: string): string[] {
  return readdirSync('/sys/block')
    .filter((n) => n.startsWith('loop'))
    .filter((n) => {
      try {
        return readFileSync(`/sys/block/${n}/loop/backing_file`, 'utf8').startsWith(dir + '/');
      } catch {
        return false;
      }
    })
    .map((n) => `/dev/${n}`);
}

/** nbdfuse processes whose command line names a path under `dir`. */
export function nbdfuseUnder(dir: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        const c = readFileSync(`/proc/${n}/cmdline`, 'utf8');
        return c.startsWith('nbdfuse\0') && c.includes(dir + '/');
      } catch {
        return false;
      }
    })
    .map(Number);
}

function tryRun(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
  } catch {
    // best effort: teardown goes on and the leftover check below reports what stayed
  }
}

/**
 * Undoes whatever lies under `dir`: filesystems mounted from our device, loop devices on
 * our FUSE files, the FUSE mounts, nbdfuse, the device nodes (only block nodes with the
 * loop major). Returns what is still left so the caller can fail loudly.
 */
export function teardownUnder(dir: string, nodes: string[], loopMajor: number): string[] {
  for (const m of mountsUnder(dir).filter((m) => !mountsUnder(dir, 'fuse').includes(m))) tryRun('umount', ['-l', m]);
  for (const l of loopsUnder(dir)) tryRun('losetup', ['-d', l]);
  for (const m of mountsUnder(dir, 'fuse')) tryRun('fusermount3', ['-u', '-z', m]);
  for (const pid of nbdfuseUnder(dir)) tryRun('kill', ['-KILL', String(pid)]);
  for (const n of nodes) {
    try {
      const out = sh('stat', ['-c', '%F %t', n]);
      if (out.startsWith('block special file') && parseInt(out.split(' ').pop()!, 16) === loopMajor) rmSync(n);
    } catch {
      // not there
    }
  }
  return leftovers(dir, nodes);
}

export function leftovers(dir: string, nodes: string[]): string[] {
  return [
    ...mountsUnder(dir).map((m) => `mount ${m}`),
    ...loopsUnder(dir).map((l) => `loop ${l}`),
    ...nbdfuseUnder(dir).map((p) => `nbdfuse pid ${p}`),
    ...nodes.filter((n) => existsSync(n)).map((n) => `node ${n}`),
  ];
}

export function loopMajor(): number {
  const m = /^\s*(\d+) loop$/m.exec(readFileSync('/proc/devices', 'utf8'));
  if (!m) throw new Error('no loop driver in /proc/devices');
  return Number(m[1]);
}

/**
 * detach(), waiting while the only holders are mounts in other mount namespaces. On this
 * shared machine any `unshare -m` run by someone else while our filesystem is mounted
 * takes a private copy of that mount, which keeps the device busy (correctly reported)
 * until their namespace ends; that is not what a test here is about.
 */
export async function detachPatiently(h: BlockDeviceHandle, timeoutMs = 120_000): Promise<void> {
  const ours = readlinkSync('/proc/self/ns/mnt').replace(/^mnt:\[(\d+)\]$/, '$1');
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await h.detach();
    } catch (e) {
      const foreignOnly =
        e instanceof BlockDeviceInUseError && e.holders.every((x) => x.kind === 'mount' && x.mountNamespace !== ours);
      if (!foreignOnly || Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
