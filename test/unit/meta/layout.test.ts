// Layout math against every row of spec/metadata-v08.md §1 (verified there with drbdmeta 9.22)
// and against external layouts observed with drbdmeta.
import { describe, expect, it } from 'vitest';
import { bmBitsForSectors, bmBytesForSectors, computeLayout, metaKindOf, mdOffsetFor } from '../../../src/meta/layout.js';
import { MetaDataError } from '../../../src/meta/errors.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('internal meta-data layout (spec table)', () => {
  // [backing bytes, S, md_size_sect, md_offset, al_offset, bm_offset, usable sectors, bitmap bits, bm_offset field]
  const rows: Array<[number, number, number, number, number, number, number | undefined, number | undefined, number]> = [
    [64 * MiB, 131072, 80, 67104768, 67072000, 67067904, 130992, 16374, -72],
    [65 * MiB + 1024, 133122, 80, 68153344, 68120576, 68116480, 133040, undefined, -72],
    [GiB, 2097152, 136, 1073737728, 1073704960, 1073672192, 2097016, 262127, -128],
    [10 * GiB, 20971520, 712, 10737414144, 10737381376, 10737053696, 20970808, 2621351, -704],
    [100 * GiB, 209715200, 6472, 107374178304, 107374145536, 107370868736, undefined, undefined, -6464],
    [1024 * GiB, 2147483648, 65608, 1099511623680, 1099511590912, 1099478036480, undefined, undefined, -65600],
  ];
  for (const [bytes, S, mdSize, mdOff, alOff, bmOff, usable, bits, bmField] of rows) {
    it(`${bytes} bytes (S = ${S})`, () => {
      expect(Math.floor(bytes / 512)).toBe(S);
      const l = computeLayout({ kind: 'internal' }, bytes);
      expect(l.mdSizeSect).toBe(mdSize);
      expect(l.mdOffsetBytes).toBe(mdOff);
      expect(l.alStartBytes).toBe(alOff);
      expect(l.bmStartBytes).toBe(bmOff);
      expect(l.alOffsetSect).toBe(-64);
      expect(l.bmOffsetSect).toBe(bmField);
      // md_offset = (S & ~7) − 8 sectors; usable = (S & ~7) − md_size_sect.
      expect(l.mdOffsetBytes / 512).toBe(Math.floor(S / 8) * 8 - 8);
      expect(l.maxUsableSect).toBe(Math.floor(S / 8) * 8 - mdSize);
      if (usable !== undefined) expect(l.maxUsableSect).toBe(usable);
      if (bits !== undefined) expect(bmBitsForSectors(l.maxUsableSect)).toBe(bits);
      // The bitmap area holds one bit per 4 KiB of the whole device.
      expect(l.bmAreaBytes).toBe(bmBytesForSectors(S));
      expect(l.bmAreaBytes * 8).toBeGreaterThanOrEqual(bmBitsForSectors(l.maxUsableSect));
    });
  }

  it('bitmap bytes are rounded to 64-bit words, then 4 KiB', () => {
    expect(bmBytesForSectors(0)).toBe(0);
    expect(bmBytesForSectors(1)).toBe(4096);
    expect(bmBytesForSectors(130992)).toBe(4096);
    expect(bmBytesForSectors(2097016)).toBe(32768);
    expect(bmBytesForSectors(8 * 32768)).toBe(4096);
    expect(bmBytesForSectors(8 * 32768 + 1)).toBe(8192);
  });

  it('refuses devices under 68 KiB and says so in drbdmeta\'s words (exit 10)', () => {
    expect(() => computeLayout({ kind: 'internal' }, 61440, { deviceName: 'd.img' })).toThrow(new MetaDataError("d.img is only 61440 bytes. That's not enough.", 10));
    expect(computeLayout({ kind: 'internal' }, 68 * 1024).maxUsableSect).toBe(136 - 80);
  });
});

describe('external meta-data layout (observed with drbdmeta 9.22)', () => {
  it('indexed: slot × 128 MiB, fixed 128 MiB area, AL after the superblock', () => {
    const l = computeLayout({ kind: 'indexed', index: 1 }, 300 * MiB);
    expect(l.mdOffsetBytes).toBe(134217728);
    expect(l.alStartBytes).toBe(134221824);
    expect(l.bmStartBytes).toBe(134254592);
    expect(l.mdSizeSect).toBe(262144);
    expect(l.alOffsetSect).toBe(8);
    expect(l.bmOffsetSect).toBe(72);
    // (262144 − 72) bitmap sectors, each covering 32768 data sectors.
    expect(l.maxUsableSect).toBe((262144 - 72) * 32768);
  });

  it('flexible: the whole device from offset 0', () => {
    const l = computeLayout({ kind: 'flex-external' }, 10 * MiB);
    expect([l.mdOffsetBytes, l.alStartBytes, l.bmStartBytes, l.mdSizeSect]).toEqual([0, 4096, 36864, 20480]);
    expect(l.bmAreaBytes).toBe((20480 - 72) * 512);
  });

  it('indexed slot past the end: "Device too small", exit 10', () => {
    expect(() => computeLayout({ kind: 'indexed', index: 1 }, MiB, { deviceName: 'md1.img' })).toThrow(
      new MetaDataError('Device too small: expecting meta data block at\nbyte offset 134217728, but md1.img is only 1048576 bytes.', 10),
    );
  });

  it('meta-disk specs map to kinds', () => {
    expect(metaKindOf({ kind: 'internal' })).toEqual({ kind: 'internal' });
    expect(metaKindOf({ kind: 'indexed', path: '/dev/x', index: 3 })).toEqual({ kind: 'indexed', index: 3 });
    expect(metaKindOf({ kind: 'flexible', path: '/dev/x' })).toEqual({ kind: 'flex-external' });
    expect(mdOffsetFor({ kind: 'internal' }, 64 * MiB + 4095)).toBe(64 * MiB - 4096);
  });
});
