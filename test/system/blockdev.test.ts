// /dev/drbdN provided in user space (src/daemon/blockdev): real mkfs, mount, fsync and
// in-use refusals on a real loop device, with nbdkit standing in for the udrbd NBD server.
// Needs root; fails (never skips) without it.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachBlockDevice,
  type BlockDeviceHandle,
  blockDeviceHolders,
  BlockDeviceInUseError,
  BlockDeviceUnavailableError,
  chooseHostPath,
  type HostFacts,
} from '../../src/daemon/blockdev/index.js';
import { isFuseMount } from '../../src/daemon/blockdev/fuse-file.js';
import { detachPatiently, leftovers, loopMajor, type Nbdkit, requireRoot, sh, startNbdkit, teardownUnder } from './blockdev-helpers.js';

const MINOR = 7;
const DEVICE = `/dev/drbd${MINOR}`;
const SIZE = 512 * 1024 * 1024; // mkfs.xfs wants at least 300 MiB

describe('user-space /dev/drbdN (NBD → FUSE → loop)', () => {
  let dir: string;
  let workDir: string;
  let server: Nbdkit;
  const handles: BlockDeviceHandle[] = [];
  const children: ChildProcess[] = [];
  let LOOP_MAJOR: number;

  const attach = async (extra: Partial<Parameters<typeof attachBlockDevice>[0]> = {}) => {
    const h = await attachBlockDevice({ minor: MINOR, devicePath: DEVICE, nbdSocket: server.socket, sizeBytes: SIZE, workDir, ...extra });
    handles.push(h);
    return h;
  };
  const mountDir = (name: string) => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  // Proves the bytes went through the NBD server: a fresh chain must read them back.
  const expectChainGone = (h: BlockDeviceHandle) => {
    expect(existsSync(DEVICE)).toBe(false);
    expect(existsSync(`/sys/block/${h.loopDevice.slice(5)}/loop/backing_file`)).toBe(false);
    expect(leftovers(dir, [DEVICE])).toEqual([]);
    expect(readdirSync(workDir)).toEqual([]); // no mount point, pid file or log left
  };

  beforeAll(async () => {
    requireRoot();
    LOOP_MAJOR = loopMajor();
    dir = mkdtempSync('/tmp/udrbd-blockdev-');
    workDir = join(dir, 'run');
    server = await startNbdkit(dir, 'mem', ['memory', `size=${SIZE}`], { log: true });
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const h of handles) await h.detach().catch(() => undefined);
    const left = dir ? teardownUnder(dir, [DEVICE], LOOP_MAJOR) : [];
    await server?.stop();
    if (dir && left.length === 0) rmSync(dir, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`blockdev teardown left behind: ${left.join(', ')} (in ${dir})`);
  });

  it('chooses nbd-module, fuse-loop or none from the host facts', () => {
    const tools = { nbdfuse: true, fusermount3: true, losetup: true, mknod: true, 'nbd-client': false };
    const root: HostFacts = { euid: 0, fuseDevice: true, nbdModule: false, tools };
    expect(chooseHostPath(root)).toEqual({ via: 'fuse-loop' });
    expect(chooseHostPath({ ...root, nbdModule: true })).toEqual({ via: 'fuse-loop' }); // no nbd-client
    expect(chooseHostPath({ ...root, nbdModule: true, tools: { ...tools, 'nbd-client': true } })).toEqual({ via: 'nbd-module' });
    expect(chooseHostPath({ ...root, euid: 1000 })).toMatchObject({ via: 'none', reason: expect.stringMatching(/not running as root/) });
    expect(chooseHostPath({ ...root, fuseDevice: false })).toMatchObject({ via: 'none', reason: expect.stringMatching(/\/dev\/fuse/) });
    expect(chooseHostPath({ ...root, tools: { ...tools, nbdfuse: false } })).toMatchObject({ via: 'none', reason: expect.stringMatching(/nbdfuse/) });
  });

  it('without root or /dev/fuse says that the NBD socket is the way in', async () => {
    const host: HostFacts = {
      euid: 1000,
      fuseDevice: true,
      nbdModule: false,
      tools: { nbdfuse: true, fusermount3: true, losetup: true, mknod: true, 'nbd-client': false },
    };
    for (const facts of [host, { ...host, euid: 0, fuseDevice: false }]) {
      const err = await attachBlockDevice({ minor: MINOR, devicePath: DEVICE, nbdSocket: server.socket, sizeBytes: SIZE, workDir, host: facts }).catch((e) => e);
      expect(err).toBeInstanceOf(BlockDeviceUnavailableError);
      expect(String(err.message)).toContain(`reachable over NBD on the unix socket ${server.socket}`);
    }
    expect(existsSync(DEVICE)).toBe(false);
  });

  for (const fs of ['ext4', 'xfs'] as const) {
    it(`${fs}: mkfs, mount, write, sync, umount on ${DEVICE}; data survives a new attach`, async () => {
      const h = await attach();
      expect(h.via).toBe('fuse-loop');
      expect(h.path).toBe(DEVICE);
      const st = statSync(DEVICE);
      expect(st.isBlockDevice()).toBe(true);
      expect(h.major).toBe(LOOP_MAJOR);
      expect(sh('stat', ['-c', '%t:%T', DEVICE]).trim()).toBe(`${h.major.toString(16)}:${h.minor.toString(16)}`);
      expect(Number(sh('blockdev', ['--getsize64', DEVICE]).trim())).toBe(SIZE);

      sh(`mkfs.${fs}`, fs === 'ext4' ? ['-q', '-F', DEVICE] : ['-q', '-f', DEVICE]);
      const mnt = mountDir(`mnt-${fs}`);
      sh('mount', [DEVICE, mnt]);
      const payload = Buffer.alloc(3 << 20, `${fs} through udrbd `);
      writeFileSync(join(mnt, 'big.bin'), payload);
      writeFileSync(join(mnt, 'small.txt'), 'hello drbd');
      sh('sync', []);
      sh('umount', [mnt]);
      await detachPatiently(h);
      expectChainGone(h);

      const again = await attach();
      sh('mount', [DEVICE, mnt]);
      expect(readFileSync(join(mnt, 'small.txt'), 'utf8')).toBe('hello drbd');
      expect(readFileSync(join(mnt, 'big.bin')).equals(payload)).toBe(true);
      sh('umount', [mnt]);
      await detachPatiently(again);
      expectChainGone(again);
    });
  }

  it('refuses detach while mounted or open (holders listed, -12), then succeeds', async () => {
    const h = await attach();
    sh('mkfs.ext4', ['-q', '-F', DEVICE]);
    const mnt = mountDir('mnt-held');
    sh('mount', [DEVICE, mnt]);

    const mounted = await h.detach().catch((e) => e);
    expect(mounted).toBeInstanceOf(BlockDeviceInUseError);
    expect(mounted.retcode).toBe(-12);
    expect(mounted.holders).toContainEqual(expect.objectContaining({ kind: 'mount', mountPoint: mnt, fsType: 'ext4' }));
    expect(mounted.message).toContain(`mounted on ${mnt}`);
    // The refusal left the device working.
    writeFileSync(join(mnt, 'still-there'), 'yes');
    sh('umount', [mnt]);

    // Open through the drbd node and, separately, through the loop device it aliases.
    for (const path of [DEVICE, h.loopDevice]) {
      const holder = spawn('sh', ['-c', `exec 3<${path}; echo ready; exec sleep 60`], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(holder);
      await new Promise((r) => holder.stdout!.once('data', r));
      const open = await h.detach().catch((e) => e);
      expect(open).toBeInstanceOf(BlockDeviceInUseError);
      expect(open.holders).toContainEqual({ kind: 'open', pid: holder.pid, command: 'sleep', fd: 3, path });
      expect(existsSync(DEVICE)).toBe(true);
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
    }

    // A mount in another mount namespace is invisible in ours but holds the device all the same.
    const hidden = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount ${DEVICE} ${mnt} && echo ready && exec sleep 60`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(hidden);
    await new Promise((r) => hidden.stdout!.once('data', r));
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(` ${mnt} `);
    const elsewhere = await h.detach().catch((e) => e);
    expect(elsewhere).toBeInstanceOf(BlockDeviceInUseError);
    const hiddenNs = readlinkSync(`/proc/${hidden.pid}/ns/mnt`).replace(/^mnt:\[(\d+)\]$/, '$1');
    expect(elsewhere.holders).toContainEqual(expect.objectContaining({ kind: 'mount', mountPoint: mnt, mountNamespace: hiddenNs }));
    hidden.kill('SIGKILL');
    await new Promise((r) => hidden.once('exit', r));
    // The namespace dies with its last process; its mount goes with it.
    const inHiddenNs = async () => (await blockDeviceHolders(h)).filter((x) => x.kind === 'mount' && x.mountNamespace === hiddenNs);
    await expect.poll(inHiddenNs, { timeout: 5_000 }).toEqual([]);

    await detachPatiently(h);
    expectChainGone(h);
  });

  it('fsync on a file in the mounted filesystem and on the device reaches the server as FLUSH', async () => {
    const log = server.logFile!;
    const h = await attach();
    sh('mkfs.ext4', ['-q', '-F', DEVICE]);
    const mnt = mountDir('mnt-flush');
    sh('mount', [DEVICE, mnt]);
    const requestsAfter = (mark: number) =>
      readFileSync(log, 'utf8')
        .slice(mark)
        .split('\n')
        .filter((l) => / (Write|Flush) id=/.test(l));

    const fd = openSync(join(mnt, 'durable'), 'w');
    writeSync(fd, Buffer.alloc(1 << 20, 'd'));
    const mark = statSync(log).size;
    fsyncSync(fd);
    closeSync(fd);
    const reqs = requestsAfter(mark);
    const firstWrite = reqs.findIndex((l) => l.includes(' Write '));
    const lastFlush = reqs.findLastIndex((l) => l.includes(' Flush '));
    expect(firstWrite, reqs.join('\n')).toBeGreaterThanOrEqual(0);
    expect(lastFlush, reqs.join('\n')).toBeGreaterThan(firstWrite);
    sh('umount', [mnt]);

    // Raw device: fsync on /dev/drbdN itself (what a database on the raw device does).
    const dev = openSync(DEVICE, 'r+');
    writeSync(dev, Buffer.alloc(4096, 'r'), 0, 4096, 1 << 20);
    const mark2 = statSync(log).size;
    fsyncSync(dev);
    closeSync(dev);
    expect(requestsAfter(mark2).some((l) => l.includes(' Flush ')), requestsAfter(mark2).join('\n')).toBe(true);

    // Detach (demote) flushes too, so a writer that never called fsync loses nothing.
    const lazy = openSync(DEVICE, 'r+');
    writeSync(lazy, Buffer.alloc(4096, 'l'), 0, 4096, 2 << 20);
    closeSync(lazy);
    const mark3 = statSync(log).size;
    await detachPatiently(h);
    expect(requestsAfter(mark3).some((l) => l.includes(' Flush ')), requestsAfter(mark3).join('\n')).toBe(true);
    expectChainGone(h);
  });

  it('detach cleans up even when nbdfuse has already died', async () => {
    const h = await attach();
    const pidFile = join(workDir, `fuse-drbd${MINOR}.pid`);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toMatch(/^nbdfuse\0/);
    process.kill(pid, 'SIGKILL');
    await expect.poll(() => existsSync(`/proc/${pid}`), { timeout: 5_000 }).toBe(false);
    expect(await isFuseMount(join(workDir, `fuse-drbd${MINOR}`))).toBe(true); // dead but still mounted
    await detachPatiently(h);
    expectChainGone(h);
  });

  it('a new attach sweeps what a crashed daemon left for the same minor', async () => {
    const old = await attach(); // never detached: as if udrbdd had been killed
    const fresh = await attach();
    // Exactly one loop device and one FUSE mount for this minor: the fresh ones.
    expect(sh('losetup', ['-j', join(workDir, `fuse-drbd${MINOR}`, `drbd${MINOR}`)]).trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${fresh.loopDevice}: `)),
    ]);
    if (old.loopDevice !== fresh.loopDevice) expect(existsSync(`/sys/block/${old.loopDevice.slice(5)}/loop/backing_file`)).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(`fuse-drbd${MINOR}`))).toHaveLength(1);
    await detachPatiently(fresh);
    expectChainGone(fresh);
  });

  it('replaces a stale loop-major node but never a node that is not ours', async () => {
    sh('mknod', [DEVICE, 'b', String(LOOP_MAJOR), '250']);
    const h = await attach();
    expect(sh('stat', ['-c', '%t:%T', DEVICE]).trim()).toBe(`${h.major.toString(16)}:${h.minor.toString(16)}`);
    await detachPatiently(h);
    expectChainGone(h);

    try {
      sh('mknod', [DEVICE, 'b', '147', String(MINOR)]); // what the real DRBD module would own
      const err = await attach().catch((e) => e);
      expect(String(err)).toMatch(/refusing to replace \/dev\/drbd7: it is block device 147:7/);
      expect(sh('stat', ['-c', '%t:%T', DEVICE]).trim()).toBe(`93:${MINOR}`);
      expect(leftovers(dir, [])).toEqual([]); // the failed attach rolled back its FUSE and loop
    } finally {
      rmSync(DEVICE, { force: true });
    }
  });
});
