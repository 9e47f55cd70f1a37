import { describe, expect, it } from 'vitest';
import {
  BITS_PER_AL_EXTENT,
  bitRangeOfSectors,
  clearBitRange,
  countBits,
  extentOfSector,
  markExtentsInWindow,
  popcount32,
  setBit,
  setBitRange,
  testBit,
} from '../../../src/meta/bitmap.js';

describe('bitmap words', () => {
  it('bit n is byte n>>3, mask 1<<(n&7): the same as little-endian u64 words', () => {
    const bm = Buffer.alloc(16);
    setBit(bm, 0);
    setBit(bm, 63);
    setBit(bm, 64 + 5);
    expect(bm.readBigUInt64LE(0)).toBe(0x8000000000000001n);
    expect(bm.readBigUInt64LE(8)).toBe(0x20n);
    expect(testBit(bm, 63)).toBe(true);
    expect(testBit(bm, 62)).toBe(false);
  });

  it('ranges set and clear whole bytes at once and the partial ends bit by bit', () => {
    const bm = Buffer.alloc(8);
    setBitRange(bm, 3, 21);
    expect(bm.readBigUInt64LE(0)).toBe(((1n << 21n) - 1n) ^ 0b111n);
    expect(countBits(bm)).toBe(18);
    clearBitRange(bm, 8, 16);
    expect(countBits(bm)).toBe(10);
    setBitRange(bm, 0, 64);
    expect(countBits(bm)).toBe(64);
  });

  it('popcount and sector arithmetic', () => {
    expect(popcount32(0)).toBe(0);
    expect(popcount32(0xffffffff)).toBe(32);
    expect(popcount32(0x80000001)).toBe(2);
    expect(extentOfSector(8191)).toBe(0);
    expect(extentOfSector(8192)).toBe(1);
    expect(bitRangeOfSectors(7, 2)).toEqual([0, 2]);
    expect(bitRangeOfSectors(8, 8)).toEqual([1, 2]);
  });

  it('marks whole AL extents (128 bytes) in a window and counts only new bits', () => {
    const win = Buffer.alloc(4096);
    win[128] = 0x0f; // extent 1 has 4 bits already
    const added = markExtentsInWindow(win, 0, [1, 3, 40]);
    expect(added).toBe(2 * BITS_PER_AL_EXTENT - 4);
    expect(countBits(win)).toBe(2 * BITS_PER_AL_EXTENT);
    // A window further into the bitmap: offsets are relative to its start.
    const win2 = Buffer.alloc(4096);
    expect(markExtentsInWindow(win2, 4096, [32, 33])).toBe(2 * BITS_PER_AL_EXTENT);
    expect(countBits(win2, 0, 256)).toBe(2 * BITS_PER_AL_EXTENT);
  });
});
