// Linux dev_t arithmetic and the device numbers the kernel assigns to block drivers.
// Node's stat gives rdev as one number; the split into major:minor follows the kernel's
// new_encode_dev layout (12 bits of major in bits 8..19, the rest above bit 32), which
// is why this works on bigint: JavaScript bit operators stop at 32 bits.
import { readFile, stat } from 'node:fs/promises';

export interface DevNo {
  major: number;
  minor: number;
}

export function splitDev(rdev: bigint): DevNo {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
}

export function sameDev(a: DevNo, b: DevNo): boolean {
  return a.major === b.major && a.minor === b.minor;
}

export function formatDev(d: DevNo): string {
  return `${d.major}:${d.minor}`;
}

/** "7:0" (as in /sys/block/<dev>/dev and /proc/self/mountinfo) → DevNo. */
export function parseDev(text: string): DevNo {
  const m = /^(\d+):(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`not a major:minor pair: ${JSON.stringify(text)}`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/** The device number a block special file points at, or undefined if `path` is not one. */
export async function blockDevOf(path: string): Promise<DevNo | undefined> {
  try {
    const st = await stat(path, { bigint: true });
    return st.isBlockDevice() ? splitDev(st.rdev) : undefined;
  } catch {
    return undefined;
  }
}

/** Major number registered for a block driver in /proc/devices ("loop", "nbd"), if any. */
export async function blockMajor(driver: string): Promise<number | undefined> {
  const text = await readFile('/proc/devices', 'utf8');
  const block = text.slice(text.indexOf('Block devices:'));
  for (const line of block.split('\n')) {
    const m = /^\s*(\d+)\s+(\S+)$/.exec(line);
    if (m && m[2] === driver) return Number(m[1]);
  }
  return undefined;
}
