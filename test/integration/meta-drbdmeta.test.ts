// udrbd's meta-data tools against the reference drbdmeta (drbd-utils 9.22) on sparse files:
// each side reads what the other wrote, and the texts must be identical. Needs the Debian
// package drbd-utils (scripts/install-deps.sh installs it); fails, never skips, without it.
import { createHash } from 'node:crypto';
import { readFileSync, openSync, readSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Capture, MINOR, drbdmeta, drbdmetaPath, makeTmpDir, sparseFile, stripDumpHeader, udrbd } from './meta-helpers.js';
import { MetaDataStore, type VolumeMetaSpec } from '../../src/engine/metadata-store.js';
import { encodeAlTransaction, type AlTransaction } from '../../src/meta/activity-log.js';
import { MDF } from '../../src/meta/constants.js';
import { applyAl, createMd, dumpMd, getGi, showGi, dstate } from '../../src/meta/tools.js';
import type { MetaDiskSpec } from '../../src/meta/layout.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

const header = { now: new Date(0), hostname: 'test', commandLine: 'drbdadm dump-md r0' };
const yes = async (): Promise<boolean> => true;

/** drbdmeta's FORMAT ARGS for a meta-disk spec. */
function mdArgs(disk: string, md: MetaDiskSpec): string[] {
  if (md === 'internal') return [disk, 'internal'];
  if ('flexible' in md) return [md.path, 'flex-external'];
  return [md.path, String(md.index)];
}

const udrbdCreate = (spec: VolumeMetaSpec) =>
  udrbd(spec, (t, out) => createMd(t, { confirm: yes, output: out }), true);
const udrbdDump = (spec: VolumeMetaSpec) => udrbd(spec, (t, out) => dumpMd(t, { output: out, header, force: false }));
const udrbdGetGi = (spec: VolumeMetaSpec) => udrbd(spec, (t, out) => getGi(t, out));
const udrbdShowGi = (spec: VolumeMetaSpec) => udrbd(spec, (t, out) => showGi(t, out));

describe('meta-data interoperability with drbdmeta 9.22', () => {
  const tmp = makeTmpDir('meta-int');
  beforeAll(() => {
    // Fails the suite with a clear message when the reference tool is missing.
    drbdmetaPath();
  });
  afterAll(() => tmp.cleanup());

  const cases: Array<{ name: string; bytes: number }> = [
    { name: '64MiB', bytes: 64 * MiB },
    { name: '1GiB', bytes: GiB },
    { name: '1TiB', bytes: TiB },
  ];

  for (const c of cases) {
    it(`${c.name}: udrbd create-md is read identically by drbdmeta and udrbd`, async () => {
      const disk = sparseFile(join(tmp.dir, `u-${c.name}.img`), c.bytes);
      const spec: VolumeMetaSpec = { minor: MINOR, diskPath: disk, metaDisk: 'internal' };
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
      const spec: VolumeMetaSpec = { minor: MINOR, diskPath: disk, metaDisk: 'internal' };
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
    expect((await udrbdCreate({ minor: MINOR, diskPath: a, metaDisk: 'internal' })).code).toBe(0);
    expect(drbdmeta([b, 'internal', 'create-md']).code).toBe(0);
    const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
    expect(sha(a)).toBe(sha(b));
  });
});
