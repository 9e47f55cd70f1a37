// create-md's safety checks against drbdmeta: existing meta-data and file systems are never
// overwritten without confirmation; without a terminal the answer is no. Needs root (loop
// devices, for drbdmeta's non-forced path), drbd-utils, e2fsprogs, xfsprogs, util-linux.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MINOR, drbdmeta, drbdmetaPath, loopAttach, loopDetach, makeTmpDir, must, sparseFile, udrbdCli } from './meta-helpers.js';
import { makeConfirm } from '../../src/cli/commands/meta.js';
import type { VolumeMetaSpec } from '../../src/engine/metadata-store.js';
import { createMd } from '../../src/meta/tools.js';

const MiB = 1024 * 1024;
const lines = (s: string): string[] => s.split('\n').filter((l) => l.trim() !== '');

/** create-md with drbdmeta's confirmation behaviour for the given situation. */
function create(disk: string, how: { force: boolean; isTTY: boolean; answer?: string }) {
  const spec: VolumeMetaSpec = { minor: MINOR, diskPath: disk, metaDisk: { kind: 'internal' } };
  return udrbdCli(
    spec,
    (t, out) =>
      createMd(t, {
        output: out,
        confirm: makeConfirm({ force: how.force, isTTY: how.isTTY, err: out.err, readLine: async () => how.answer ?? '' }),
      }),
    true,
  );
}

describe('create-md refuses to overwrite without confirmation', () => {
  const tmp = makeTmpDir('meta-create');
  it('needs the reference drbdmeta (drbd-utils)', () => expect(drbdmetaPath()).toMatch(/drbdmeta$/));
  afterAll(() => tmp.cleanup());

  it('existing meta-data, no terminal: asks, refuses, exit 1 — word for word like drbdmeta', async () => {
    const disk = sparseFile(join(tmp.dir, 'existing.img'), 64 * MiB);
    expect((await create(disk, { force: true, isTTY: false })).code).toBe(0);
    const ours = await create(disk, { force: false, isTTY: false });
    const loop = loopAttach(disk);
    let ref;
    try {
      ref = drbdmeta([loop, 'internal', 'create-md'], { force: false });
    } finally {
      loopDetach(loop);
    }
    expect(ours.code).toBe(1);
    expect(ours.code).toBe(ref.code);
    expect(ours.stdout).toBe('Operation cancelled.\n');
    expect(ours.stdout).toBe(ref.stdout);
    expect(ours.stderr).toBe(ref.stderr.split(loop).join(disk));
    expect(ours.stderr).toContain("Do you really want to overwrite the existing meta-data?\nstdin not a TTY, not waiting for confirmation\n");
  });

  it('existing meta-data on a terminal: "no" cancels, "yes" overwrites', async () => {
    const disk = sparseFile(join(tmp.dir, 'tty.img'), 64 * MiB);
    expect((await create(disk, { force: true, isTTY: false })).code).toBe(0);
    const no = await create(disk, { force: false, isTTY: true, answer: 'no' });
    expect(no.code).toBe(1);
    expect(no.stderr).toContain("[need to type 'yes' to confirm] ");
    const yesAnswer = await create(disk, { force: false, isTTY: true, answer: 'yes' });
    expect(yesAnswer.code).toBe(0);
    expect(yesAnswer.stdout).toContain('New drbd meta data block successfully created.');
  });

  it('ext4 filling the device: refused even with --force, exit 40, same text as drbdmeta', async () => {
    const disk = sparseFile(join(tmp.dir, 'ext4-full.img'), 64 * MiB);
    must('mkfs.ext4', ['-q', '-F', disk]);
    const ours = await create(disk, { force: true, isTTY: false });
    const ref = drbdmeta([disk, 'internal', 'create-md']);
    expect(ours.code).toBe(40);
    expect(ref.code).toBe(40);
    expect(ours.stdout).toBe(ref.stdout);
    expect(ours.stdout).toContain('Found ext3 filesystem');
  });

  it('ext4 leaving room for meta-data: needs confirmation; no terminal ⇒ exit 1, --force ⇒ created', async () => {
    const disk = sparseFile(join(tmp.dir, 'ext4-small.img'), 64 * MiB);
    must('mkfs.ext4', ['-q', '-F', disk, '60M']);
    const refused = await create(disk, { force: false, isTTY: false });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/Even though it looks like this would place the new meta data into\n/);
    expect(refused.stdout).toMatch(/Operation canceled\.\n$/);
    const twin = sparseFile(join(tmp.dir, 'ext4-small-ref.img'), 64 * MiB);
    must('mkfs.ext4', ['-q', '-F', twin, '60M']);
    const ours = await create(disk, { force: true, isTTY: false });
    const ref = drbdmeta([twin, 'internal', 'create-md']);
    expect(ours.code).toBe(0);
    expect(ref.code).toBe(0);
    expect(ours.stdout).toBe(ref.stdout);
    expect(lines(ours.stderr)).toEqual(lines(ref.stderr));
  });

  it('xfs and swap: refused like drbdmeta (exit 40)', async () => {
    const xfs = sparseFile(join(tmp.dir, 'xfs.img'), 300 * MiB);
    must('mkfs.xfs', ['-q', '-f', xfs]);
    const swap = sparseFile(join(tmp.dir, 'swap.img'), 64 * MiB);
    must('mkswap', [swap]);
    for (const disk of [xfs, swap]) {
      const ours = await create(disk, { force: true, isTTY: false });
      const ref = drbdmeta([disk, 'internal', 'create-md']);
      expect(ours.code).toBe(40);
      expect(ours.code).toBe(ref.code);
      expect(ours.stdout).toBe(ref.stdout);
    }
  });

  it('unrecognised data: "This might destroy existing data!", asks', async () => {
    const disk = sparseFile(join(tmp.dir, 'data.img'), 64 * MiB);
    const twin = sparseFile(join(tmp.dir, 'data-ref.img'), 64 * MiB);
    const { writeFileSync } = await import('node:fs');
    for (const f of [disk, twin]) writeFileSync(f, 'hello, some application data\n', { flag: 'r+' });
    expect((await create(disk, { force: false, isTTY: false })).code).toBe(1);
    const ours = await create(disk, { force: true, isTTY: false });
    const ref = drbdmeta([twin, 'internal', 'create-md']);
    expect(ours.code).toBe(0);
    expect(ours.stdout).toBe(ref.stdout);
    expect(ours.stdout).toContain(' ==> This might destroy existing data! <==');
  });
});
