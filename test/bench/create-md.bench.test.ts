// create-md of a 1 TiB sparse backing file must take < 5 s: only the meta-data area
// (32 KiB AL, 32 MiB bitmap, 4 KiB superblock) is written, never the data.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTmpDir, sparseFile, udrbd } from '../integration/meta-helpers.js';
import { createMd } from '../../src/meta/tools.js';

const TiB = 1024 ** 4;

describe('create-md bench', () => {
  const tmp = makeTmpDir('bench-create-md');
  afterAll(() => tmp.cleanup());

  it('1 TiB sparse file in under 5 s', async () => {
    const disk = sparseFile(join(tmp.dir, 'tib.img'), TiB);
    const t0 = process.hrtime.bigint();
    const r = await udrbd({ minor: 0, diskPath: disk, metaDisk: { kind: 'internal' } }, (t, out) => createMd(t, { confirm: async () => true, output: out }), true);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const allocatedMiB = (statSync(disk).blocks * 512) / 2 ** 20;
    console.log(`create-md 1 TiB sparse: ${ms.toFixed(1)} ms, ${allocatedMiB.toFixed(1)} MiB allocated`);
    expect(r.code).toBe(0);
    expect(ms).toBeLessThan(5000);
    // Only the meta-data area was written (33 MiB of 1 TiB).
    expect(allocatedMiB).toBeLessThan(40);
  });
});
