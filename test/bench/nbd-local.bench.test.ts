// Local write path through NBD: udrbd's Device (no peer) against `nbdkit file` on the same
// kind of tmpfs-backed file, measured with fio's nbd engine in the same run.
//   npx vitest run --config vitest.bench.config.ts test/bench/nbd-local.bench.test.ts
// The target (issue): udrbd >= 0.9 x nbdkit for both workloads. Each pair is measured
// alternately, best of ROUNDS, because this two-core machine is shared and noisy.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device } from '../../src/engine/device.js';
import { internalLayout, sparseFile } from '../integration/nbd-helpers.js';
import { MiB, ROUNDS, SECONDS, WORKLOADS, bestOf, requireFioNbd, startNbdkit, table } from './fio.js';

const BACKING = 1024 * MiB;

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
    await requireFioNbd();
    sparseFile(ours, BACKING);
    // nbdkit serves the whole file; give it a file of the same size as our data area.
    sparseFile(theirs, layout.usableSizeBytes);
    dev = await Device.create({ backingPath: ours, ...layout, nbdSocketPath: oursSock });
    dev.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: true });
    nbdkit = await startNbdkit(theirs, theirsSock);
  });

  afterAll(async () => {
    nbdkit?.kill('SIGTERM');
    await dev?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is at least 0.9 x nbdkit for 1 MiB QD8 sequential writes and 4 KiB QD1 random writes', async () => {
    const size = 512 * MiB;
    const rows = [];
    for (const w of WORKLOADS) {
      const results = await bestOf(w, size, { udrbd: oursSock, nbdkit: theirsSock });
      rows.push({ workload: w.name, results, ratio: `udrbd / nbdkit = ${(results.udrbd!.mibps / results.nbdkit!.mibps).toFixed(2)}` });
    }
    console.log(`\n${table(rows)}\n(best of ${ROUNDS} x ${SECONDS} s each, tmpfs, no peer)`);
    const c = dev.counters();
    expect(c.dw).toBeGreaterThan(0);
    expect(c.ap).toBe(0);
    for (const row of rows) {
      expect(row.results.udrbd!.mibps / row.results.nbdkit!.mibps, `${row.workload}: udrbd / nbdkit throughput`).toBeGreaterThanOrEqual(0.9);
    }
  }, 600_000);
});
