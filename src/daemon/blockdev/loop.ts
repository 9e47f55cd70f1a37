// FUSE file → kernel loop device. losetup picks a free loop and binds it atomically
// (LOOP_CTL_GET_FREE + LOOP_CONFIGURE, retried by util-linux), so concurrent users of
// loop devices on the machine cannot be handed the same one.
import { readdir, readFile } from 'node:fs/promises';
import { type DevNo, parseDev } from './devno.js';
import { run, waitFor } from './run.js';

export interface LoopDevice extends DevNo {
  path: string;
  sysName: string;
  /** What the kernel actually does: it falls back to buffered I/O if it cannot do direct I/O. */
  directIo: boolean;
}

export async function attachLoop(file: string, directIo: boolean): Promise<LoopDevice> {
  const { stdout } = await run('losetup', ['--find', '--show', `--direct-io=${directIo ? 'on' : 'off'}`, file]);
  const path = stdout.trim();
  if (!/^\/dev\/loop\d+$/.test(path)) throw new Error(`losetup printed ${JSON.stringify(stdout)}, not a loop device`);
  return describeLoop(path);
}

export async function describeLoop(path: string): Promise<LoopDevice> {
  const sysName = path.slice('/dev/'.length);
  const dev = parseDev(await readFile(`/sys/block/${sysName}/dev`, 'utf8'));
  const dio = (await readFile(`/sys/block/${sysName}/loop/dio`, 'utf8').catch(() => '0')).trim() === '1';
  return { path, sysName, ...dev, directIo: dio };
}

/** Backing file of a bound loop device, or undefined when it is free. */
export async function loopBackingFile(sysName: string): Promise<string | undefined> {
  const text = await readFile(`/sys/block/${sysName}/loop/backing_file`, 'utf8').catch(() => undefined);
  return text?.trim().replace(/ \(deleted\)$/, '');
}

/** Loop devices bound to `file` (e.g. left over by a daemon that died). */
export async function loopsBackedBy(file: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir('/sys/block')) {
    if (name.startsWith('loop') && (await loopBackingFile(name)) === file) found.push(`/dev/${name}`);
  }
  return found;
}

// The kernel defers LOOP_CLR_FD while the device is open (it sets autoclear instead),
// so wait until the binding is really gone before unmounting the file under it.
export async function detachLoop(loop: Pick<LoopDevice, 'path' | 'sysName'>, timeoutMs = 10_000): Promise<void> {
  if ((await loopBackingFile(loop.sysName)) === undefined) return;
  await run('losetup', ['-d', loop.path]);
  const gone = await waitFor(async () => (await loopBackingFile(loop.sysName)) === undefined, timeoutMs);
  if (!gone) throw new Error(`${loop.path} is still bound ${timeoutMs} ms after losetup -d (something holds it open)`);
}
