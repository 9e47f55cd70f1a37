// fio through NBD and an nbdkit baseline, shared by the benchmarks. Measurements alternate
// between the contenders and keep the best of several rounds: this two-core machine is
// shared and noisy, so only ratios measured in one run mean anything.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { requireTool, run } from '../integration/nbd-helpers.js';

export const MiB = 1024 * 1024;
export const SECONDS = Number(process.env.UDRBD_BENCH_SECONDS ?? 6);
export const ROUNDS = Number(process.env.UDRBD_BENCH_ROUNDS ?? 3);

export interface Result {
  mibps: number;
  iops: number;
  p50us: number;
}

export interface Workload {
  name: string;
  args: string[];
}

/** The two workloads of the issue: streaming and latency-bound small writes. */
export const WORKLOADS: Workload[] = [
  { name: 'seq write 1 MiB QD8', args: ['--rw=write', '--bs=1M', '--iodepth=8'] },
  { name: 'randwrite 4 KiB QD1', args: ['--rw=randwrite', '--bs=4k', '--iodepth=1'] },
];

export async function requireFioNbd(): Promise<void> {
  requireTool('fio', 'fio');
  const { stdout } = await run('fio', ['--enghelp']);
  if (!/\bnbd\b/.test(stdout)) throw new Error('this fio has no nbd ioengine: install a fio built with libnbd');
}

export async function fio(socket: string, w: Workload, sizeBytes: number): Promise<Result> {
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

/** `nbdkit file FILE` on a unix socket, the baseline server. */
export async function startNbdkit(file: string, socket: string): Promise<ChildProcess> {
  requireTool('nbdkit', 'nbdkit');
  const child = spawn('nbdkit', ['--foreground', '--exit-with-parent', '--unix', socket, 'file', file], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 200; i++) {
    if (existsSync(socket)) return child;
    if (child.exitCode !== null) throw new Error(`nbdkit exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nbdkit did not create ${socket}`);
}

/** Best (highest throughput) of ROUNDS runs of each contender, alternating who goes first. */
export async function bestOf(w: Workload, sizeBytes: number, sockets: Record<string, string>): Promise<Record<string, Result>> {
  const best: Record<string, Result> = {};
  const names = Object.keys(sockets);
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const who of order) {
      const res = await fio(sockets[who]!, w, sizeBytes);
      if (!best[who] || res.mibps > best[who]!.mibps) best[who] = res;
    }
  }
  return best;
}

export function table(rows: Array<{ workload: string; results: Record<string, Result>; ratio?: string }>): string {
  const fmt = (n: number, d = 1) => n.toFixed(d).padStart(10);
  const out = [`${'workload'.padEnd(22)}${'path'.padEnd(14)}${'MiB/s'.padStart(10)}${'IOPS'.padStart(10)}${'p50 us'.padStart(10)}`];
  for (const row of rows) {
    let first = true;
    for (const [who, r] of Object.entries(row.results)) {
      out.push(`${(first ? row.workload : '').padEnd(22)}${who.padEnd(14)}${fmt(r.mibps)}${fmt(r.iops, 0)}${fmt(r.p50us)}`);
      first = false;
    }
    if (row.ratio) out.push(`${''.padEnd(22)}${row.ratio}`);
  }
  return out.join('\n');
}
