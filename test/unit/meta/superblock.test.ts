// Superblock encoding: the golden 64 MiB example of spec/metadata-v08.md §5, round trips, and
// drbdmeta's validity checks.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { computeLayout } from '../../../src/meta/layout.js';
import { decodeSuperblock, encodeSuperblock, freshSuperblock, isClean, validateSuperblock } from '../../../src/meta/superblock.js';
import { MD_MAGIC_08, MD_MAGIC_84_UNCLEAN } from '../../../src/meta/constants.js';
import { MDF } from '../../../src/state/attach.js';
import { MetaDataError } from '../../../src/meta/errors.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** xxd-style lines of the spec's hexdump, turned into bytes. */
function fromHexdump(lines: string[]): Buffer {
  return Buffer.from(lines.map((l) => l.split(':')[1].trim().split('  ')[0].replace(/ /g, '')).join(''), 'hex');
}

describe('superblock', () => {
  const layout = computeLayout({ kind: 'internal' }, 64 * MiB);

  it('create-md superblock of a 64 MiB disk is the spec\'s golden block', () => {
    const block = encodeSuperblock(freshSuperblock(layout));
    const expected = fromHexdump([
      '03fff000: 0000 0000 0000 0000 0000 0000 0000 0004  ................',
      '03fff010: 0000 0000 0000 0000 0000 0000 0000 0000  ................',
      '03fff020: 0000 0000 0000 0000 0000 0000 0000 0000  ................',
      '03fff030: 0000 0000 0000 0000 0000 0080 8374 026b  .............t.k',
      '03fff040: 0000 0050 ffff ffc0 0000 0101 ffff ffb8  ...P............',
      '03fff050: 0000 1000 0000 0000 0000 0001 0000 0008  ................',
      '03fff060: 0000 0000 0000 0000 0000 0000 0000 0000  ................',
    ]);
    expect(block.subarray(0, expected.length)).toEqual(expected);
    expect(block.subarray(expected.length).every((b) => b === 0)).toBe(true);
    expect(sha(block)).toBe('525a7dd3f54ba9ea27f7984f95eb52df2e702b069691ecb74bd11666a999ed1a');
  });

  it('round-trips every field, including 64-bit UUIDs and negative offsets', () => {
    const sb = {
      ...freshSuperblock(layout, 131072),
      laSizeSect: 130992,
      uuids: { current: 0xfedcba9876543211n, bitmap: 0x8000000000000000n, history: [1n, 0xffffffffffffffffn] as [bigint, bigint] },
      deviceUuid: 0x0123456789abcdefn,
      flags: MDF.CONSISTENT | MDF.PRIMARY_IND | MDF.CRASHED_PRIMARY,
      magic: MD_MAGIC_84_UNCLEAN,
      alNrExtents: 1237,
    };
    expect(decodeSuperblock(encodeSuperblock(sb))).toEqual(sb);
  });

  it('all-zero stripe fields (pre-striping meta-data) read as the fixed 1 × 8 AL', () => {
    const b = encodeSuperblock({ ...freshSuperblock(layout), alStripes: 0, alStripeSize4k: 0 });
    const sb = decodeSuperblock(b);
    expect([sb.alStripes, sb.alStripeSize4k]).toEqual([1, 8]);
  });

  it('validates against the device: a wrong magic, offsets or md size are no meta-data', () => {
    const good = freshSuperblock(layout);
    expect(validateSuperblock(good, { kind: 'internal' }, 64 * MiB)).toEqual(layout);
    const bad = (patch: object, msg: string): void => {
      expect(() => validateSuperblock({ ...good, ...patch }, { kind: 'internal' }, 64 * MiB)).toThrow(new MetaDataError(msg, 1));
    };
    bad({ magic: 0x12345678 }, 'No valid meta data found');
    bad({ alOffsetSect: -60 }, 'v08 al_offset: expected -64, found -60\nNo valid meta data found');
    bad({ bmOffsetSect: -80 }, 'strange bm_offset -80 (expected: -72)\nNo valid meta data found');
    bad({ mdSizeSect: 88 }, 'strange md_size_sect 88 (expected: 80)\nNo valid meta data found');
    // Same superblock on a bigger device: the offsets no longer match the formula.
    expect(() => validateSuperblock(good, { kind: 'internal' }, 2048 * MiB)).toThrow(/strange bm_offset/);
    expect(() => validateSuperblock({ ...good, bmBytesPerBit: 8192 }, { kind: 'internal' }, 64 * MiB)).toThrow(/bm_bytes_per_bit/);
  });

  it('clean means magic 08 with AL_CLEAN', () => {
    const sb = freshSuperblock(layout);
    expect(isClean(sb)).toBe(true);
    expect(isClean({ ...sb, magic: MD_MAGIC_84_UNCLEAN })).toBe(false);
    expect(isClean({ ...sb, flags: 0x11, magic: MD_MAGIC_08 })).toBe(false);
  });
});
