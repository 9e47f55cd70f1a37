// /dev/drbdN while Primary: attachBlockDevice builds the chain from the resource's NBD
// socket to a block special node, detach tears it down unless someone still holds the
// device (the daemon then refuses demote/down with SS_DEVICE_IN_USE, -12).
//
//   fuse-loop:  NBD socket → nbdfuse (FUSE file) → loop device → mknod /dev/drbdN
//   nbd-module: NBD socket → nbd-client (/dev/nbdX)           → mknod /dev/drbdN
import { mkdir, open, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { blockDevOf, blockMajor, type DevNo, sameDev } from './devno.js';
import { removeStaleNode, makeDeviceNode } from './device-node.js';
import { BlockDeviceInUseError, BlockDeviceUnavailableError } from './errors.js';
import { type FuseFile, startFuseFile, unmountFuse } from './fuse-file.js';
import { type BlockDeviceHolder, blockDeviceHolders as holdersOf } from './holders.js';
import { chooseHostPath, type HostFacts, probeHost } from './host.js';
import { attachLoop, describeLoop, detachLoop, loopsBackedBy } from './loop.js';
import { attachNbdKernel, detachNbdKernel } from './nbd-kernel.js';
import { waitFor } from './run.js';

export interface AttachBlockDeviceOptions {
  /** DRBD minor; names the helper files in workDir. */
  minor: number;
  devicePath: string;
  nbdSocket: string;
  sizeBytes: number;
  /** Private directory for the FUSE mount point and helper logs (e.g. $UDRBD_RUN_DIR/blockdev). */
  workDir: string;
  /** Loop device in direct-I/O mode (default on: no second page cache, see docs/block-device.md). */
  directIo?: boolean;
  /** NBD connections nbdfuse may open when the server advertises multi-conn (default 4). */
  connections?: number;
  /** Probed facts about the host; tests inject them to check the refusal paths. */
  host?: HostFacts;
}

export interface BlockDeviceHandle {
  /** The block special node, e.g. /dev/drbd0. */
  readonly path: string;
  /** Device numbers of that node: those of the loop (or nbd) device behind it. */
  readonly major: number;
  readonly minor: number;
  readonly drbdMinor: number;
  /** The kernel device the node aliases: /dev/loopN, or /dev/nbdN on the nbd-module path. */
  readonly loopDevice: string;
  readonly via: 'nbd-module' | 'fuse-loop';
  /** Whether the loop device really does direct I/O (false on the nbd-module path). */
  readonly directIo: boolean;
  /** Removes the node and everything behind it; rejects with BlockDeviceInUseError while held. */
  detach(): Promise<void>;
}

function paths(workDir: string, minor: number) {
  const mountPoint = join(workDir, `fuse-drbd${minor}`);
  return { mountPoint, fileName: `drbd${minor}`, file: join(mountPoint, `drbd${minor}`), log: join(workDir, `nbdfuse-drbd${minor}.log`) };
}

async function ourMajors(): Promise<number[]> {
  return (await Promise.all([blockMajor('loop'), blockMajor('nbd')])).filter((m): m is number => m !== undefined);
}

export async function attachBlockDevice(opts: AttachBlockDeviceOptions): Promise<BlockDeviceHandle> {
  // Absolute, because the FUSE mount point is matched against /proc/self/mountinfo.
  const o = { ...opts, workDir: resolve(opts.workDir) };
  const choice = chooseHostPath(o.host ?? (await probeHost()));
  if (choice.via === 'none') throw new BlockDeviceUnavailableError(o.devicePath, o.nbdSocket, choice.reason);
  await mkdir(o.workDir, { recursive: true });
  await sweepBlockDevice({ minor: o.minor, devicePath: o.devicePath, workDir: o.workDir });
  return choice.via === 'nbd-module' ? attachViaNbdModule(o) : attachViaFuseLoop(o);
}

async function attachViaFuseLoop(o: AttachBlockDeviceOptions): Promise<BlockDeviceHandle> {
  const p = paths(o.workDir, o.minor);
  const undo: (() => Promise<void>)[] = [];
  try {
    const fuse: FuseFile = await startFuseFile({
      nbdSocket: o.nbdSocket,
      mountPoint: p.mountPoint,
      fileName: p.fileName,
      connections: o.connections ?? 4,
      logFile: p.log,
    });
    undo.push(() => fuse.stop());
    const size = (await stat(fuse.file)).size;
    if (size !== o.sizeBytes) throw new Error(`NBD export on ${o.nbdSocket} has ${size} bytes, expected ${o.sizeBytes}`);

    const loop = await attachLoop(fuse.file, o.directIo ?? true);
    undo.push(() => detachLoop(loop));
    await makeDeviceNode(o.devicePath, loop, await ourMajors());

    const handle = deviceHandle(o, loop, 'fuse-loop', loop.directIo, async () => {
      await flushDevice(loop.path);
      await detachLoop(loop);
      await fuse.stop();
      await rmdir(p.mountPoint).catch(() => undefined); // empty once unmounted
      await rm(p.log, { force: true });
    });
    return handle;
  } catch (e) {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    throw e;
  }
}

async function attachViaNbdModule(o: AttachBlockDeviceOptions): Promise<BlockDeviceHandle> {
  const nbd = await attachNbdKernel(o.nbdSocket, o.sizeBytes);
  try {
    await makeDeviceNode(o.devicePath, nbd, await ourMajors());
  } catch (e) {
    await detachNbdKernel(nbd.path).catch(() => undefined);
    throw e;
  }
  return deviceHandle(o, nbd, 'nbd-module', false, async () => {
    await flushDevice(nbd.path);
    await detachNbdKernel(nbd.path);
  });
}

function deviceHandle(
  o: AttachBlockDeviceOptions,
  dev: DevNo & { path: string; sysName: string },
  via: BlockDeviceHandle['via'],
  directIo: boolean,
  teardown: () => Promise<void>,
): BlockDeviceHandle {
  let detached = false;
  const handle: BlockDeviceHandle & { sysName: string } = {
    path: o.devicePath,
    major: dev.major,
    minor: dev.minor,
    drbdMinor: o.minor,
    loopDevice: dev.path,
    sysName: dev.sysName,
    via,
    directIo,
    async detach() {
      if (detached) return;
      await refuseIfHeld(handle);
      await removeOurNode(o.devicePath, dev);
      // Someone may have opened the device between the check and the unlink; the node is
      // gone but the loop/nbd device is still theirs to use, so put the name back.
      const late = await blockDeviceHolders(handle);
      if (late.length > 0) {
        await makeDeviceNode(o.devicePath, dev, await ourMajors());
        throw new BlockDeviceInUseError(o.devicePath, late);
      }
      await teardown();
      detached = true;
    },
  };
  return handle;
}

// Demote must leave every acknowledged write durable at the server, also for a writer
// that never called fsync. fsync on the block device is what issues a cache flush
// (REQ_PREFLUSH → loop → FUSE fsync → NBD FLUSH); BLKFLSBUF would only write back pages.
// It fails only when nbdfuse is already gone, and then there is nothing to flush to.
async function flushDevice(path: string): Promise<void> {
  const fd = await open(path, 'r').catch(() => undefined);
  if (!fd) return;
  try {
    await fd.sync();
  } catch {
    // see above
  } finally {
    await fd.close();
  }
}

async function refuseIfHeld(h: BlockDeviceHandle): Promise<void> {
  const holders = await blockDeviceHolders(h);
  if (holders.length > 0) throw new BlockDeviceInUseError(h.path, holders);
}

/** Removes the node only while it still points at our device (it may have been replaced). */
async function removeOurNode(path: string, dev: DevNo): Promise<void> {
  const now = await blockDevOf(path);
  if (now && sameDev(now, dev)) await removeStaleNode(path, [dev.major]);
}

/** Mounts, swap, open fds, stacked devices and loop devices that keep the device busy. */
export function blockDeviceHolders(h: Pick<BlockDeviceHandle, 'path' | 'major' | 'minor' | 'loopDevice'>): Promise<BlockDeviceHolder[]> {
  return holdersOf({ major: h.major, minor: h.minor, paths: [h.path, h.loopDevice], sysName: h.loopDevice.slice('/dev/'.length) });
}

/**
 * Removes what a previous udrbdd (crashed, killed) left for this minor: loop devices on
 * our FUSE file, the FUSE mount with its nbdfuse, a stale /dev/drbdN. Refuses, like
 * detach, if a leftover loop device is still mounted or open.
 */
export async function sweepBlockDevice(o: { minor: number; devicePath: string; workDir: string }): Promise<void> {
  const p = paths(resolve(o.workDir), o.minor);
  for (const loopPath of await loopsBackedBy(p.file)) {
    const loop = await describeLoop(loopPath);
    const holders = await blockDeviceHolders({ path: o.devicePath, major: loop.major, minor: loop.minor, loopDevice: loopPath });
    if (holders.length > 0) throw new BlockDeviceInUseError(loopPath, holders);
    await detachLoop(loop);
  }
  await unmountFuse(p.mountPoint);
  await stopStaleNbdfuse(p.mountPoint);
  await removeStaleNode(o.devicePath, await ourMajors());
}

// An nbdfuse whose mount is gone normally exits by itself; one that does not (hung on
// its socket) is ended, but only if its command line shows it is ours for this minor.
async function stopStaleNbdfuse(mountPoint: string): Promise<void> {
  const pidFile = mountPoint + '.pid';
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (pid > 0) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.startsWith('nbdfuse\0') && cmdline.includes(`${mountPoint}/`)) {
      const alive = () => readFile(`/proc/${pid}/cmdline`, 'utf8').then((c) => c === cmdline, () => false);
      if (!(await waitFor(async () => !(await alive()), 3_000))) {
        process.kill(pid, 'SIGTERM');
        if (!(await waitFor(async () => !(await alive()), 3_000))) process.kill(pid, 'SIGKILL');
      }
    }
  }
  await rm(pidFile, { force: true });
}
