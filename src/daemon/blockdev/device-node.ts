// /dev/drbdN: a block special node carrying the major:minor of the kernel device that
// really serves the I/O (a loop or nbd device). A node is only a name, so removing a
// stale one never disturbs a device; replacing a node that is not ours could hide a
// real DRBD (major 147) or anything else someone put there, so that is refused.
import { lstat, rm } from 'node:fs/promises';
import { type DevNo, formatDev, splitDev } from './devno.js';
import { run } from './run.js';

export async function makeDeviceNode(path: string, dev: DevNo, ourMajors: readonly number[]): Promise<void> {
  await removeStaleNode(path, ourMajors);
  await run('mknod', ['-m', '0660', path, 'b', String(dev.major), String(dev.minor)]);
}

/** Removes `path` if it is a block node with one of `ourMajors`; throws if it is anything else. */
export async function removeStaleNode(path: string, ourMajors: readonly number[]): Promise<void> {
  let st;
  try {
    st = await lstat(path, { bigint: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isBlockDevice()) throw new Error(`refusing to replace ${path}: it exists and is not a block device`);
  const dev = splitDev(st.rdev);
  if (!ourMajors.includes(dev.major)) {
    throw new Error(`refusing to replace ${path}: it is block device ${formatDev(dev)}, not one udrbd made (majors ${ourMajors.join(', ')})`);
  }
  await rm(path, { force: true });
}
