// How much does /dev/drbdN in user space (NBD → nbdfuse → loop) cost against a plain loop
// device over the same kind of backing file? fio on a file in ext4, two workloads:
// sequential 1 MiB writes (throughput) and 4 KiB random writes with fsync after each
// (latency of the whole flush path). nbdkit's file plugin on /dev/shm stands in for the
// udrbd NBD server. Each configuration runs ROUNDS times interleaved with the others and
// the best run counts: the machine is shared and noise only ever makes a run slower.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachBlockDevice, type BlockDeviceHandle } from '../../src/daemon/blockdev/index.js';
import { detachPatiently, loopMajor, type Nbdkit, requireRoot, sh, startNbdkit, teardownUnder } from '../system/blockdev-helpers.js';

const MINOR = 8; // not the system test's 7, so both can run at once
const DEVICE = `/dev/drbd${MINOR}`;
const SIZE = 1024 * 1024 * 1024;
const ROUNDS = Number(process.env.BLOCKDEV_BENCH_ROUNDS ?? 2);
const RAND_SECONDS = Number(process.env.BLOCKDEV_BENCH_SECONDS ?? 8);

interface Result {
  /** ext4 on the device: sequential 1 MiB writes. */
  seqMiBs: number;
  /** ext4 on the device: 4 KiB random writes, fsync after each. */
  randIops: number;
  fsyncUs: number;
  /** The device itself, O_DIRECT 4 KiB random writes, fsync (= one cache flush) after each. */
  rawIops: number;
}

interface Config {
  name: string;
  /** Where the data goes, for the report. */
  path: string;
  setup(): Promise<{ device: string; teardown(): Promise<void> }>;
}

function fio(args: string[]): { bw: number; iops: number; syncNs: number } {
  const out = execFileSync('fio', [...args, '--output-format=json'], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  const job = JSON.parse(out.slice(out.indexOf('{'))).jobs[0];
  return { bw: job.write.bw, iops: job.write.iops, syncNs: job.sync?.lat_ns?.mean ?? 0 };
}

function runWorkloads(mnt: string): Omit<Result, "rawIops"> {
  const seq = fio(['--name=seq', `--directory=${mnt}`, '--rw=write', '--bs=1M', '--size=512M', '--ioengine=psync', '--end_fsync=1']);
  rmSync(join(mnt, 'seq.0.0'), { force: true });
  const rand = fio([
    '--name=rand', `--directory=${mnt}`, '--rw=randwrite', '--bs=4k', '--size=128M', '--ioengine=psync', '--fsync=1',
    `--runtime=${RAND_SECONDS}`, '--time_based',
  ]);
  return { seqMiBs: seq.bw / 1024, randIops: rand.iops, fsyncUs: rand.syncNs / 1000 };
}

/** Write + flush pairs on the raw device (or, with an nbd URI, on the NBD server itself). */
function rawFlushIops(target: { device: string } | { nbdUri: string }): number {
  const where = 'device' in target ? [`--filename=${target.device}`, '--direct=1', '--ioengine=psync'] : ['--ioengine=nbd', `--uri=${target.nbdUri}`];
  return fio(['--name=raw', ...where, '--rw=randwrite', '--bs=4k', '--size=128M', '--fsync=1', `--runtime=${RAND_SECONDS}`, '--time_based']).iops;
}

describe('blockdev bench: /dev/drbdN (NBD → FUSE → loop) vs plain loop', () => {
  let dir: string;
  let shm: string;
  let server: Nbdkit;
  let LOOP_MAJOR: number;

  beforeAll(async () => {
    requireRoot();
    LOOP_MAJOR = loopMajor();
    dir = mkdtempSync('/tmp/udrbd-blockdev-bench-');
    shm = mkdtempSync('/dev/shm/udrbd-blockdev-bench-');
    writeFileSync(join(shm, 'nbd.img'), '');
    truncateSync(join(shm, 'nbd.img'), SIZE);
    writeFileSync(join(shm, 'plain.img'), '');
    truncateSync(join(shm, 'plain.img'), SIZE);
    server = await startNbdkit(dir, 'file', ['file', join(shm, 'nbd.img')]);
  });

  afterAll(async () => {
    const left = dir ? teardownUnder(dir, [DEVICE], LOOP_MAJOR) : [];
    // The plain loop devices sit on files in shm, outside `dir`.
    if (shm) for (const l of sh('losetup', ['-j', join(shm, 'plain.img')]).split('\n').filter(Boolean)) sh('losetup', ['-d', l.split(':')[0]!]);
    await server?.stop();
    if (shm) rmSync(shm, { recursive: true, force: true });
    if (dir && left.length === 0) rmSync(dir, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`bench teardown left behind: ${left.join(', ')}`);
  });

  const plain = (dio: boolean): Config => ({
    name: `plain loop, dio ${dio ? 'on' : 'off'}`,
    path: 'ext4 → loop → file on /dev/shm',
    async setup() {
      const device = sh('losetup', ['--find', '--show', `--direct-io=${dio ? 'on' : 'off'}`, join(shm, 'plain.img')]).trim();
      return { device, teardown: async () => void sh('losetup', ['-d', device]) };
    },
  });
  const drbd = (directIo: boolean, connections: number): Config => ({
    name: `${DEVICE}, loop dio ${directIo ? 'on' : 'off'}, ${connections} NBD conn`,
    path: `ext4 → ${DEVICE} (loop${directIo ? ', direct I/O' : ''}) → FUSE file (nbdfuse -C ${connections}) → NBD unix socket → nbdkit file → /dev/shm`,
    async setup() {
      const h: BlockDeviceHandle = await attachBlockDevice({
        minor: MINOR, devicePath: DEVICE, nbdSocket: server.socket, sizeBytes: SIZE, workDir: join(dir, 'run'), directIo, connections,
      });
      expect(h.directIo).toBe(directIo);
      return { device: h.path, teardown: () => detachPatiently(h) };
    },
  });

  it('fio: sequential 1M writes and 4k random writes with fsync', async () => {
    const configs = [plain(false), plain(true), drbd(true, 4), drbd(false, 4), drbd(true, 1), drbd(false, 1)];
    const best = new Map<string, Result>();
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt, { recursive: true });
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of configs) {
        const { device, teardown } = await c.setup();
        try {
          const rawIops = rawFlushIops({ device });
          sh('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', device]);
          sh('mount', [device, mnt]);
          try {
            const r = { ...runWorkloads(mnt), rawIops };
            const b = best.get(c.name);
            best.set(c.name, {
              rawIops: Math.max(r.rawIops, b?.rawIops ?? 0),
              seqMiBs: Math.max(r.seqMiBs, b?.seqMiBs ?? 0),
              randIops: Math.max(r.randIops, b?.randIops ?? 0),
              fsyncUs: Math.min(r.fsyncUs, b?.fsyncUs ?? Infinity),
            });
          } finally {
            sh('umount', [mnt]);
          }
        } finally {
          await teardown();
        }
      }
    }

    // The floor: the same write + flush pairs sent straight to the NBD server, no kernel.
    let nbdFloor = 0;
    for (let round = 0; round < ROUNDS; round++) nbdFloor = Math.max(nbdFloor, rawFlushIops({ nbdUri: `nbd+unix:///?socket=${server.socket}` }));

    const base = best.get(configs[0]!.name)!;
    const rows = configs.map((c) => {
      const r = best.get(c.name)!;
      return (
        `${c.name.padEnd(40)} seq 1M ${r.seqMiBs.toFixed(0).padStart(5)} MiB/s (${(r.seqMiBs / base.seqMiBs).toFixed(2)}x)` +
        `  rand 4k+fsync ${r.randIops.toFixed(0).padStart(6)} IOPS (${(r.randIops / base.randIops).toFixed(2)}x, fsync ${r.fsyncUs.toFixed(0)} µs)` +
        `  raw dev 4k+flush ${r.rawIops.toFixed(0).padStart(6)} IOPS (${(r.rawIops / base.rawIops).toFixed(2)}x)`
      );
    });
    rows.push(`${'NBD server alone (fio nbd engine)'.padEnd(40)} raw 4k+flush ${nbdFloor.toFixed(0)} IOPS: the ceiling for any path through this server`);
    const paths = configs.map((c) => `  ${c.name}: ${c.path}`);
    console.log(
      [`blockdev bench (best of ${ROUNDS}, ratios against ${configs[0]!.name}):`, ...rows, 'data paths:', ...paths].join('\n'),
    );
    for (const c of configs) {
      const r = best.get(c.name)!;
      expect(r.seqMiBs, c.name).toBeGreaterThan(0);
      expect(r.randIops, c.name).toBeGreaterThan(0);
      expect(r.rawIops, c.name).toBeGreaterThan(0);
    }
    expect(nbdFloor).toBeGreaterThan(0);
  });
});
