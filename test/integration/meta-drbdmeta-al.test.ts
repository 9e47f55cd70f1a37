// apply-al against drbdmeta apply-al on identical inputs, external meta-data layouts, and
// the error paths (bad magic, truncated or too small devices). Needs drbd-utils.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MINOR,
  drbdmeta,
  drbdmetaPath,
  makeTmpDir,
  patchFile,
  readRange,
  simulateAlTransactions,
  sparseCopy,
  sparseFile,
  stripDumpHeader,
  udrbd,
} from './meta-helpers.js';
import { truncateSync } from 'node:fs';
import { MetaDataStore, type VolumeMetaSpec } from '../../src/engine/metadata-store.js';
import { MD_MAGIC_84_UNCLEAN } from '../../src/meta/constants.js';
import { MDF } from '../../src/state/attach.js';
import { MetaDataError } from '../../src/meta/errors.js';
import { applyAl, createMd, dumpMd, getGi } from '../../src/meta/tools.js';
import type { MetaDiskSpec } from '../../src/meta/layout.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const header = { now: new Date(0), hostname: 'test', commandLine: 'drbdadm dump-md r0' };
const yes = async (): Promise<boolean> => true;

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** drbdmeta's stderr without blank lines (udrbd prints the same lines). */
const lines = (s: string): string[] => s.split('\n').filter((l) => l.trim() !== '');

describe('apply-al against drbdmeta apply-al', () => {
  const tmp = makeTmpDir('meta-al');
  it('needs the reference drbdmeta (drbd-utils)', () => expect(drbdmetaPath()).toMatch(/drbdmeta$/));
  afterAll(() => tmp.cleanup());

  /**
   * A 1 GiB disk with udrbd meta-data, la-size set, some bits already set, the given flags,
   * magic 84_UNCLEAN (as the kernel leaves it) and the given AL transactions.
   */
  async function prepare(name: string, flags: number, fill: (store: MetaDataStore, disk: string) => void): Promise<string> {
    const disk = sparseFile(join(tmp.dir, `${name}.img`), GiB);
    const spec: VolumeMetaSpec = { minor: MINOR, diskPath: disk, metaDisk: { kind: 'internal' } };
    const created = await udrbd(spec, (t, out) => createMd(t, { confirm: yes, output: out }), true);
    expect(created.code).toBe(0);
    const store = MetaDataStore.open(spec);
    try {
      const sb = store.readSuperblock();
      store.writeSuperblock({ ...sb, laSizeSect: store.layout.maxUsableSect, flags, magic: MD_MAGIC_84_UNCLEAN, alNrExtents: 1237 });
      // Extent 3 half out of sync already, extent 7 fully: apply-al counts only new bits.
      store.writeBitmap(0, Buffer.concat([Buffer.alloc(3 * 128), Buffer.alloc(64, 0xff), Buffer.alloc(7 * 128 - 4 * 128 + 64), Buffer.alloc(128, 0xff)]));
      fill(store, disk);
    } finally {
      store.close();
    }
    return disk;
  }

  /** Runs udrbd apply-al on `disk` and drbdmeta apply-al on a copy; both must agree in every byte. */
  async function compare(disk: string): Promise<{ code: number; stderr: string }> {
    const twin = sparseCopy(disk, `${disk}.twin`);
    const spec: VolumeMetaSpec = { minor: MINOR, diskPath: disk, metaDisk: { kind: 'internal' } };
    const ours = await udrbd(spec, (t, out) => applyAl(t, out), true);
    const ref = drbdmeta([twin, 'internal', 'apply-al']);
    expect(ours.code).toBe(ref.code);
    expect(lines(ours.stderr)).toEqual(lines(ref.stderr));
    expect(ours.stdout).toBe(ref.stdout);
    const mdStart = GiB - 136 * 512;
    expect(sha(readRange(disk, mdStart, 136 * 512))).toBe(sha(readRange(twin, mdStart, 136 * 512)));
    if (ref.code === 0) {
      const dumpA = drbdmeta([disk, 'internal', 'dump-md']);
      expect(dumpA.code).toBe(0);
      expect(stripDumpHeader((await udrbd(spec, (t, out) => dumpMd(t, { output: out, header, force: false }))).stdout)).toBe(stripDumpHeader(dumpA.stdout));
    }
    return ours;
  }

  const primary = MDF.PRIMARY_IND | MDF.CONSISTENT | MDF.WAS_UP_TO_DATE | MDF.CRASHED_PRIMARY;

  it('Primary: 11 transactions wrapping the ring and the 32-bit tr number are replayed into the bitmap', async () => {
    const sim = simulateAlTransactions({ nSlots: 1237, count: 11, firstTr: 0xfffffffa, extents: [0, 3, 7, 9, 100, 255, 256, 300, 12, 13], seed: 7 });
    const disk = await prepare('primary', primary, (store) => {
      for (const tr of sim.transactions) store.writeAlTransaction(tr);
      // The replayed set is the kernel's active set after the last transaction.
      expect(store.replayActivityLog().hotExtents).toEqual(sim.active);
    });
    const r = await compare(disk);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Marked additional .* as out-of-sync based on AL\./);
    expect(r.stderr).toMatch(/extent 300 beyond end of bitmap!/);
  });

  it('Secondary: the AL is not applied, meta-data is marked clean', async () => {
    const sim = simulateAlTransactions({ nSlots: 1237, count: 3, firstTr: 40, extents: [1, 2, 5], seed: 3 });
    const disk = await prepare('secondary', MDF.CONSISTENT | MDF.WAS_UP_TO_DATE, (store) => {
      for (const tr of sim.transactions) store.writeAlTransaction(tr);
    });
    const r = await compare(disk);
    expect(r.code).toBe(0);
    const gi = await udrbd({ minor: MINOR, diskPath: disk, metaDisk: { kind: 'internal' } }, (t, out) => getGi(t, out));
    expect(gi.stdout).toMatch(/:1:1:0:0:0:0:0\n$/);
  });

  it('Primary with one torn transaction: the others are replayed, the tear is reported', async () => {
    const sim = simulateAlTransactions({ nSlots: 67, count: 8, firstTr: 1000, extents: [20, 21, 22, 40], seed: 11 });
    const disk = await prepare('torn', primary, (store, path) => {
      for (const tr of sim.transactions) store.writeAlTransaction(tr);
      // One byte flipped in AL block 3: its CRC no longer matches.
      patchFile(path, store.layout.alStartBytes + 3 * 4096 + 100, Buffer.from([0x5a]));
    });
    const r = await compare(disk);
    expect(r.stderr).toMatch(/1 corrupt AL transactions found/);
  });

  it('Primary with an AL of garbage: exit 1, same bytes as drbdmeta leaves', async () => {
    const disk = await prepare('garbage', primary, (store, path) => {
      patchFile(path, store.layout.alStartBytes, Buffer.alloc(32 * 1024, 0x33));
    });
    const r = await compare(disk);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/No usable activity log found\. Do you need to create-md\?/);
  });

  it('clean meta-data: apply-al is a no-op that succeeds', async () => {
    const disk = sparseFile(join(tmp.dir, 'clean.img'), GiB);
    expect((await udrbd({ minor: MINOR, diskPath: disk, metaDisk: { kind: 'internal' } }, (t, out) => createMd(t, { confirm: yes, output: out }), true)).code).toBe(0);
    const r = await compare(disk);
    expect(r.code).toBe(0);
  });
});

describe('external meta-data against drbdmeta', () => {
  const tmp = makeTmpDir('meta-ext');
  it('needs the reference drbdmeta (drbd-utils)', () => expect(drbdmetaPath()).toMatch(/drbdmeta$/));
  afterAll(() => tmp.cleanup());

  const variants: Array<{ name: string; md: (path: string) => MetaDiskSpec; args: (path: string) => string[]; size: number }> = [
    { name: 'indexed slot 1', md: (path) => ({ kind: 'indexed', path, index: 1 }), args: (p) => [p, '1'], size: 300 * MiB },
    { name: 'indexed slot 0', md: (path) => ({ kind: 'indexed', path, index: 0 }), args: (p) => [p, '0'], size: 128 * MiB },
    { name: 'flexible', md: (path) => ({ kind: 'flexible', path }), args: (p) => [p, 'flex-external'], size: 10 * MiB },
  ];

  for (const v of variants) {
    it(`${v.name}: udrbd create-md ⇄ drbdmeta dump-md, drbdmeta create-md ⇄ udrbd dump-md`, async () => {
      const data = sparseFile(join(tmp.dir, `data-${v.size}.img`), 64 * MiB);
      const mdA = sparseFile(join(tmp.dir, `mdA-${v.name}.img`), v.size);
      const mdB = sparseFile(join(tmp.dir, `mdB-${v.name}.img`), v.size);
      const specA: VolumeMetaSpec = { minor: MINOR, diskPath: data, metaDisk: v.md(mdA) };
      const specB: VolumeMetaSpec = { minor: MINOR, diskPath: data, metaDisk: v.md(mdB) };
      expect((await udrbd(specA, (t, out) => createMd(t, { confirm: yes, output: out }), true)).code).toBe(0);
      expect(drbdmeta([...v.args(mdB), 'create-md']).code).toBe(0);
      const dump = async (spec: VolumeMetaSpec) => stripDumpHeader((await udrbd(spec, (t, out) => dumpMd(t, { output: out, header, force: false }))).stdout);
      const refA = drbdmeta([...v.args(mdA), 'dump-md']);
      expect(refA.code).toBe(0);
      expect(await dump(specA)).toBe(stripDumpHeader(refA.stdout));
      expect(await dump(specB)).toBe(stripDumpHeader(drbdmeta([...v.args(mdB), 'dump-md']).stdout));
      // Same bytes on both meta-data devices.
      expect(sha(readRange(mdA, 0, v.size))).toBe(sha(readRange(mdB, 0, v.size)));
    });
  }

  it('indexed slot beyond the device: drbdmeta\'s "Device too small", exit 10', async () => {
    const md = sparseFile(join(tmp.dir, 'md1.img'), MiB);
    const ref = drbdmeta([md, '1', 'create-md']);
    let err: unknown;
    try {
      await udrbd({ minor: MINOR, diskPath: md, metaDisk: { kind: 'indexed', path: md, index: 1 } }, (t, out) => createMd(t, { confirm: yes, output: out }), true);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MetaDataError);
    expect((err as MetaDataError).exitCode).toBe(ref.code);
    expect(lines((err as MetaDataError).message)).toEqual(lines(ref.stderr));
  });
});

describe('damaged meta-data: the same diagnosis as drbdmeta, never a crash', () => {
  const tmp = makeTmpDir('meta-bad');
  it('needs the reference drbdmeta (drbd-utils)', () => expect(drbdmetaPath()).toMatch(/drbdmeta$/));
  afterAll(() => tmp.cleanup());

  async function expectLikeDrbdmeta(disk: string, cmd: 'dump-md' | 'get-gi' | 'apply-al'): Promise<MetaDataError> {
    const spec: VolumeMetaSpec = { minor: MINOR, diskPath: disk, metaDisk: { kind: 'internal' } };
    let err: unknown;
    try {
      await udrbd(spec, (t, out) => (cmd === 'get-gi' ? getGi(t, out) : cmd === 'apply-al' ? applyAl(t, out) : dumpMd(t, { output: out, header, force: false })), cmd === 'apply-al');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MetaDataError);
    const ref = drbdmeta([disk, 'internal', cmd]);
    expect((err as MetaDataError).exitCode).toBe(ref.code);
    if (cmd !== 'get-gi') {
      // drbdmeta's get-gi exits 1 silently; udrbd says why (the dump-md wording).
      expect(lines((err as MetaDataError).message)).toEqual(lines(ref.stderr));
    }
    return err as MetaDataError;
  }

  async function fresh(name: string, bytes = 64 * MiB): Promise<string> {
    const disk = sparseFile(join(tmp.dir, name), bytes);
    expect((await udrbd({ minor: MINOR, diskPath: disk, metaDisk: { kind: 'internal' } }, (t, out) => createMd(t, { confirm: yes, output: out }), true)).code).toBe(0);
    return disk;
  }

  it('corrupted magic: "No valid meta data found", exit 1', async () => {
    const disk = await fresh('magic.img');
    patchFile(disk, 64 * MiB - 4096 + 0x3c, Buffer.from([0x12, 0x34, 0x56, 0x78]));
    for (const cmd of ['dump-md', 'get-gi', 'apply-al'] as const) {
      expect((await expectLikeDrbdmeta(disk, cmd)).message).toBe('No valid meta data found');
    }
  });

  it('right magic, wrong al_offset: drbdmeta\'s complaint, exit 1', async () => {
    const disk = await fresh('aloff.img');
    patchFile(disk, 64 * MiB - 4096 + 0x44, Buffer.from([0xff, 0xff, 0xff, 0xc4]));
    expect((await expectLikeDrbdmeta(disk, 'dump-md')).message).toBe('v08 al_offset: expected -64, found -60\nNo valid meta data found');
  });

  it('truncated device (meta-data no longer at the end): "No valid meta data found"', async () => {
    const disk = await fresh('trunc.img');
    truncateSync(disk, 32 * MiB);
    await expectLikeDrbdmeta(disk, 'dump-md');
  });

  it('device smaller than 68 KiB: "… is only N bytes. That\'s not enough.", exit 10', async () => {
    const disk = sparseFile(join(tmp.dir, 'tiny.img'), 60 * 1024);
    expect((await expectLikeDrbdmeta(disk, 'dump-md')).message).toBe(`${disk} is only 61440 bytes. That's not enough.`);
    let err: unknown;
    try {
      await udrbd({ minor: MINOR, diskPath: disk, metaDisk: { kind: 'internal' } }, (t, out) => createMd(t, { confirm: yes, output: out }), true);
    } catch (e) {
      err = e;
    }
    expect((err as MetaDataError).exitCode).toBe(drbdmeta([disk, 'internal', 'create-md']).code);
  });
});
