// udrbd's meta-data tools against the reference drbdmeta (drbd-utils 9.22) on sparse files:
// each side reads what the other wrote, and the texts must be identical. Needs the Debian
// package drbd-utils (scripts/install-deps.sh installs it); fails, never skips, without it.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MINOR, drbdmeta, drbdmetaPath, makeTmpDir, sparseFile, stripDumpHeader, udrbd } from './meta-helpers.js';
import { MetaDataStore, type VolumeMetaSpec } from '../../src/engine/metadata-store.js';
import { MDF } from '../../src/state/attach.js';
import { createMd, dumpMd, getGi, showGi, dstate } from '../../src/meta/tools.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

const header = { now: new Date(0), hostname: 'test', commandLine: 'drbdadm dump-md r0' };
const yes = async (): Promise<boolean> => true;

const udrbdCreate = (spec: VolumeMetaSpec) =>
  udrbd(spec, (t, out) => createMd(t, { confirm: yes, output: out }), true);
const udrbdDump = (spec: VolumeMetaSpec) => udrbd(spec, (t, out) => dumpMd(t, { output: out, header, force: false }));
const udrbdGetGi = (spec: VolumeMetaSpec) => udrbd(spec, (t, out) => getGi(t, out));
const udrbdShowGi = (spec: VolumeMetaSpec) => udrbd(spec, (t, out) => showGi(t, out));

describe('meta-data interoperability with drbdmeta 9.22', () => {
  const tmp = makeTmpDir('meta-int');
  // Every test that runs drbdmeta fails with a clear message when it is missing (a failed
  // beforeAll would only mark the tests skipped).
  it('needs the reference drbdmeta (drbd-utils)', () => expect(drbdmetaPath()).toMatch(/drbdmeta$/));
  afterAll(() => tmp.cleanup());

  const cases: Array<{ name: string; bytes: number }> = [
    { name: '64MiB', bytes: 64 * MiB },
    { name: '1GiB', bytes: GiB },
    { name: '1TiB', bytes: TiB },
  ];

  for (const c of cases) {
    it(`${c.name}: udrbd create-md is read identically by drbdmeta and udrbd`, async () => {
      const disk = sparseFile(join(tmp.dir, `u-${c.name}.img`), c.bytes);
      const spec: VolumeMetaSpec = { minor: MINOR, diskPath: disk, metaDisk: { kind: 'internal' } };
      const created = await udrbdCreate(spec);
      expect(created.code).toBe(0);
      expect(created.stdout).toBe('initializing activity log\nWriting meta data...\nNew drbd meta data block successfully created.\n');
      const ref = drbdmeta([disk, 'internal', 'dump-md']);
      expect(ref.code, ref.stderr).toBe(0);
      const ours = await udrbdDump(spec);
      expect(ours.code).toBe(0);
      expect(stripDumpHeader(ours.stdout)).toBe(stripDumpHeader(ref.stdout));
      expect((await udrbdGetGi(spec)).stdout).toBe(drbdmeta([disk, 'internal', 'get-gi']).stdout);
      expect((await udrbdShowGi(spec)).stdout).toBe(drbdmeta([disk, 'internal', 'show-gi']).stdout);
    });

    it(`${c.name}: drbdmeta create-md is read identically by udrbd`, async () => {
      const disk = sparseFile(join(tmp.dir, `d-${c.name}.img`), c.bytes);
      const spec: VolumeMetaSpec = { minor: MINOR, diskPath: disk, metaDisk: { kind: 'internal' } };
      const created = drbdmeta([disk, 'internal', 'create-md']);
      expect(created.code, created.stderr).toBe(0);
      const ref = drbdmeta([disk, 'internal', 'dump-md']);
      expect(stripDumpHeader((await udrbdDump(spec)).stdout)).toBe(stripDumpHeader(ref.stdout));
      expect((await udrbdGetGi(spec)).stdout).toBe(drbdmeta([disk, 'internal', 'get-gi']).stdout);
      expect((await udrbdShowGi(spec)).stdout).toBe(drbdmeta([disk, 'internal', 'show-gi']).stdout);
    });
  }

  it('64MiB: udrbd and drbdmeta write byte-identical meta-data areas', async () => {
    const a = sparseFile(join(tmp.dir, 'same-a.img'), 64 * MiB);
    const b = sparseFile(join(tmp.dir, 'same-b.img'), 64 * MiB);
    expect((await udrbdCreate({ minor: MINOR, diskPath: a, metaDisk: { kind: 'internal' } })).code).toBe(0);
    expect(drbdmeta([b, 'internal', 'create-md']).code).toBe(0);
    const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
    expect(sha(a)).toBe(sha(b));
  });

  // ---- UUIDs, flags and bitmap bits --------------------------------------------------

  it('1GiB: UUIDs/flags set by drbdmeta set-gi and restore-md read identically', async () => {
    const disk = sparseFile(join(tmp.dir, 'gi.img'), GiB);
    const spec: VolumeMetaSpec = { minor: MINOR, diskPath: disk, metaDisk: { kind: 'internal' } };
    expect((await udrbdCreate(spec)).code).toBe(0);
    const set = drbdmeta([disk, 'internal', 'set-gi', '1234567890ABCDEF:00000000000000A5:FFEE000000000001:0000000000000B00:1:1:0:1:0:1:1']);
    expect(set.code, set.stderr).toBe(0);
    for (const cmd of ['get-gi', 'show-gi'] as const) {
      const ours = cmd === 'get-gi' ? await udrbdGetGi(spec) : await udrbdShowGi(spec);
      expect(ours.stdout).toBe(drbdmeta([disk, 'internal', cmd]).stdout);
    }
    expect(stripDumpHeader((await udrbdDump(spec)).stdout)).toBe(stripDumpHeader(drbdmeta([disk, 'internal', 'dump-md']).stdout));
    // restore-md: la-size, peer max bio, bitmap runs; flags 0x97 keep AL_CLEAN.
    const dumpFile = join(tmp.dir, 'gi.dump');
    writeFileSync(
      dumpFile,
      [
        'version "v08";',
        'uuid {',
        '    0x1234567890ABCDEF; 0x0000000000000005; 0x00000000000000A0; 0x000000000000B000;',
        '    flags 0x00000097;',
        '}',
        'la-size-sect 2097016;',
        'bm-byte-per-bit 4096;',
        'device-uuid 0x0000000000000000;',
        'la-peer-max-bio-size 1048576;',
        'al-stripes 1;',
        'al-stripe-size-4k 8;',
        'bm {',
        '   0x0000000000000001; 0xFFFFFFFFFFFFFFFF; 0x0000000000000000; 0x8000000000000000;',
        '   100 times 0xFFFFFFFFFFFFFFFF;',
        '   0x0000000000000003; 0x00000000FFFFFFFF; 0xFFFFFFFF00000000;',
        '   9 times 0x0000000100000001;',
        '   4 times 0x0000000000000007;',
        '}',
        '',
      ].join('\n'),
    );
    const restored = drbdmeta([disk, 'internal', 'restore-md', dumpFile]);
    expect(restored.code, restored.stderr).toBe(0);
    const ref = drbdmeta([disk, 'internal', 'dump-md']);
    expect(ref.stdout).toContain('100 times 0xFFFFFFFFFFFFFFFF;');
    expect(stripDumpHeader((await udrbdDump(spec)).stdout)).toBe(stripDumpHeader(ref.stdout));
    expect((await udrbdShowGi(spec)).stdout).toBe(drbdmeta([disk, 'internal', 'show-gi']).stdout);
    const ds = await udrbd(spec, (t, out) => dstate(t, out));
    expect(ds.stdout).toBe(drbdmeta([disk, 'internal', 'dstate']).stdout);
  });

  it('1GiB: bits written by udrbd (random runs of every length) dump identically', async () => {
    const disk = sparseFile(join(tmp.dir, 'bits.img'), GiB);
    const spec: VolumeMetaSpec = { minor: MINOR, diskPath: disk, metaDisk: { kind: 'internal' } };
    expect((await udrbdCreate(spec)).code).toBe(0);
    const store = MetaDataStore.open(spec);
    try {
      const sb = store.readSuperblock();
      const laSizeSect = store.layout.maxUsableSect;
      store.writeSuperblock({ ...sb, laSizeSect, flags: sb.flags | MDF.CONSISTENT | MDF.WAS_UP_TO_DATE });
      // Runs of 1..40 identical 32-bit words of assorted values, so that every case of the
      // run-length output (shorter than a line, one line, several lines, odd starts) occurs.
      const bm = Buffer.alloc(store.bitmapBytesFor(laSizeSect));
      let seed = 12345;
      const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
      const values = [0, 0xffffffff, 1, 0x80000000, 0xdeadbeef];
      for (let w = 0; w < bm.length / 4; ) {
        const len = 1 + (rnd() % 40);
        const v = values[rnd() % values.length];
        for (let k = 0; k < len && w < bm.length / 4; k++, w++) bm.writeUInt32LE(v, w * 4);
      }
      store.writeBitmap(0, bm);
    } finally {
      store.close();
    }
    const ref = drbdmeta([disk, 'internal', 'dump-md']);
    expect(ref.code).toBe(0);
    expect(ref.stdout).toMatch(/times 0x/);
    expect(stripDumpHeader((await udrbdDump(spec)).stdout)).toBe(stripDumpHeader(ref.stdout));
  });

  it('2TiB: a run that crosses drbdmeta\'s 32 MiB bitmap window dumps identically', async () => {
    const disk = sparseFile(join(tmp.dir, 'wrap.img'), 2 * TiB);
    const spec: VolumeMetaSpec = { minor: MINOR, diskPath: disk, metaDisk: { kind: 'internal' } };
    expect((await udrbdCreate(spec)).code).toBe(0);
    const store = MetaDataStore.open(spec);
    try {
      const sb = store.readSuperblock();
      store.writeSuperblock({ ...sb, laSizeSect: store.layout.maxUsableSect });
      // Zero run ends 10 words (then 20 words) into the second window; set words around it.
      const W = 32 * MiB;
      const page = Buffer.alloc(8192);
      page.writeUInt32LE(0x11111111, 4096 + 40); // 10 words after the boundary
      store.writeBitmap(W - 4096, page);
      const page2 = Buffer.alloc(4096);
      page2.writeUInt32LE(0x22222222, 80);
      store.writeBitmap(W + 8192, page2);
    } finally {
      store.close();
    }
    const ref = drbdmeta([disk, 'internal', 'dump-md']);
    // drbdmeta prints the first window's run, then a plain line of zeros after the window
    // boundary, then the rest: udrbd must reproduce exactly that.
    expect(ref.stdout).toContain('    4194304 times 0x0000000000000000;\n   # at 1073741824kB\n    0x0000000000000000; 0x0000000000000000;');
    
    expect(ref.code).toBe(0);
    expect(stripDumpHeader((await udrbdDump(spec)).stdout)).toBe(stripDumpHeader(ref.stdout));
  });
});
