// Local write path through NBD: udrbd's Device (no peer) against `nbdkit file` on the same
// kind of tmpfs-backed file, measured with fio's nbd engine in the same run.
//   npx vitest run --config vitest.bench.config.ts test/bench/nbd-local.bench.test.ts
// The target (issue): udrbd >= 0.9 x nbdkit for both workloads. Each pair is measured
// alternately, best of ROUNDS, because this two-core machine is shared and noisy.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device } from '../../src/engine/device.js';
import { internalLayout, requireTool, run, sparseFile } from '../integration/nbd-helpers.js';

const MiB = 1024 * 1024;
const BACKING = 1024 * MiB;
const SECONDS = Number(process.env.UDRBD_BENCH_SECONDS ?? 6);
const ROUNDS = Number(process.env.UDRBD_BENCH_ROUNDS ?? 3);

interface Result {
  mibps: number;
  iops: number;
  p50us: number;
}

interface Workload {
  name: string;
  args: string[];
}

const WORKLOADS: Workload[] = [
  { name: 'seq write 1 MiB QD8', args: ['--rw=write', '--bs=1M', '--iodepth=8'] },
  { name: 'randwrite 4 KiB QD1', args: ['--rw=randwrite', '--bs=4k', '--iodepth=1'] },
];

async function fio(socket: string, w: Workload, sizeBytes: number): Promise<Result> {
  const { stdout } = await run(
    'fio',
    [
      '--name=bench',
      '--ioengine=nbd',
      `--uri=nbd+unix:///?socket=${socket}`,
      ...w.args,
      `--size=${sizeBytes}`,
      '--time_based',
      `--runtime=${SECONDS}`,
      '--ramp_time=1',
      '--output-format=json',
    ],
    { maxBuffer: 16 * MiB },
  );
  const job = JSON.parse(stdout.slice(stdout.indexOf('{'))).jobs[0].write;
  return {
    mibps: job.bw_bytes / MiB,
    iops: job.iops,
    p50us: job.clat_ns.percentile['50.000000'] / 1000,
  };
}

async function waitForSocket(path: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (existsSync(path)) return;
    if (child.exitCode !== null) throw new Error(`nbdkit exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nbdkit did not create ${path}`);
}

describe('NBD local write path: udrbd vs nbdkit file (tmpfs)', () => {
  const dir = mkdtempSync(join('/dev/shm', 'udrbd-bench-'));
  const ours = join(dir, 'udrbd.img');
  const theirs = join(dir, 'nbdkit.img');
  const oursSock = join(dir, 'udrbd.sock');
  const theirsSock = join(dir, 'nbdkit.sock');
  const layout = internalLayout(BACKING);
  let dev: Device;
  let nbdkit: ChildProcess | undefined;

  beforeAll(async () => {
    requireTool('fio', 'fio');
    requireTool('nbdkit', 'nbdkit');
    const { stdout } = await run('fio', ['--enghelp']);
    if (!/\bnbd\b/.test(stdout)) throw new Error('this fio has no nbd ioengine: install a fio built with libnbd');
    sparseFile(ours, BACKING);
    // nbdkit serves the whole file; give it a file of the same size as our data area.
    sparseFile(theirs, layout.usableSizeBytes);
    dev = await Device.create({ backingPath: ours, ...layout, nbdSocketPath: oursSock });
    dev.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: true });
    nbdkit = spawn('nbdkit', ['--foreground', '--exit-with-parent', '--unix', theirsSock, 'file', theirs], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitForSocket(theirsSock, nbdkit);
  });

  afterAll(async () => {
    nbdkit?.kill('SIGTERM');
    await dev?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is at least 0.9 x nbdkit for 1 MiB QD8 sequential writes and 4 KiB QD1 random writes', async () => {
    const size = 512 * MiB;
    const rows: Array<{ workload: string; udrbd: Result; nbdkit: Result }> = [];
    for (const w of WORKLOADS) {
      let best: { udrbd?: Result; nbdkit?: Result } = {};
      for (let r = 0; r < ROUNDS; r++) {
        // Alternate who goes first so drift on the machine does not favour one side.
        const order = r % 2 === 0 ? (['udrbd', 'nbdkit'] as const) : (['nbdkit', 'udrbd'] as const);
        for (const who of order) {
          const res = await fio(who === 'udrbd' ? oursSock : theirsSock, w, size);
          if (!best[who] || res.mibps > best[who]!.mibps) best = { ...best, [who]: res };
        }
      }
      rows.push({ workload: w.name, udrbd: best.udrbd!, nbdkit: best.nbdkit! });
    }
    const fmt = (n: number, d = 1) => n.toFixed(d).padStart(10);
    const lines = [
      `${'workload'.padEnd(22)}${'server'.padEnd(8)}${'MiB/s'.padStart(10)}${'IOPS'.padStart(10)}${'p50 us'.padStart(10)}${'ratio'.padStart(8)}`,
    ];
    for (const row of rows) {
      const ratio = row.udrbd.mibps / row.nbdkit.mibps;
      lines.push(`${row.workload.padEnd(22)}${'udrbd'.padEnd(8)}${fmt(row.udrbd.mibps)}${fmt(row.udrbd.iops, 0)}${fmt(row.udrbd.p50us)}${ratio.toFixed(2).padStart(8)}`);
      lines.push(`${''.padEnd(22)}${'nbdkit'.padEnd(8)}${fmt(row.nbdkit.mibps)}${fmt(row.nbdkit.iops, 0)}${fmt(row.nbdkit.p50us)}`);
    }
    console.log(`\n${lines.join('\n')}\n(best of ${ROUNDS} x ${SECONDS} s each, tmpfs, no peer)`);
    const c = dev.counters();
    expect(c.dw).toBeGreaterThan(0);
    expect(c.ap).toBe(0);
    for (const row of rows) {
      expect(row.udrbd.mibps / row.nbdkit.mibps, `${row.workload}: udrbd / nbdkit throughput`).toBeGreaterThanOrEqual(0.9);
    }
  }, 600_000);
});
