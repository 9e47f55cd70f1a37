// The on-disk bitmap (spec/metadata-v08.md §3): bit n = 4 KiB block n of the DRBD device,
// byte n >> 3, mask 1 << (n & 7) — the same as little-endian u64 words. Helpers work on
// whole buffers (a page or the whole bitmap), never one disk access per bit. Pure.
import { AL_EXTENT_SHIFT, BM_BYTES_PER_AL_EXTENT, SECTOR_BYTES } from './constants.js';

/** Bits per AL extent (4 MiB / 4 KiB). */
export const BITS_PER_AL_EXTENT = BM_BYTES_PER_AL_EXTENT * 8;

export function testBit(bm: Uint8Array, bit: number): boolean {
  return (bm[bit >>> 3] & (1 << (bit & 7))) !== 0;
}

export function setBit(bm: Uint8Array, bit: number): void {
  bm[bit >>> 3] |= 1 << (bit & 7);
}

export function clearBit(bm: Uint8Array, bit: number): void {
  bm[bit >>> 3] &= ~(1 << (bit & 7));
}

/** Sets bits [from, to) (bit numbers relative to the start of bm); whole bytes are filled at once. */
export function setBitRange(bm: Uint8Array, from: number, to: number): void {
  let b = from;
  while (b < to && (b & 7) !== 0) setBit(bm, b++);
  const fullEnd = to - ((to - b) & 7);
  if (fullEnd > b) {
    bm.fill(0xff, b >>> 3, fullEnd >>> 3);
    b = fullEnd;
  }
  while (b < to) setBit(bm, b++);
}

/** Clears bits [from, to). */
export function clearBitRange(bm: Uint8Array, from: number, to: number): void {
  let b = from;
  while (b < to && (b & 7) !== 0) clearBit(bm, b++);
  const fullEnd = to - ((to - b) & 7);
  if (fullEnd > b) {
    bm.fill(0, b >>> 3, fullEnd >>> 3);
    b = fullEnd;
  }
  while (b < to) clearBit(bm, b++);
}

export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Number of set bits in bm[start, end) (bytes). */
export function countBits(bm: Uint8Array, start = 0, end = bm.length): number {
  let n = 0;
  let i = start;
  const view = new DataView(bm.buffer, bm.byteOffset, bm.byteLength);
  for (; i + 4 <= end; i += 4) n += popcount32(view.getUint32(i, true));
  for (; i < end; i++) n += popcount32(bm[i]);
  return n;
}

/** The 4 KiB block (= bitmap bit) holding a sector. */
export function bitOfSector(sector: number): number {
  return Math.floor(sector / 8);
}

/** The AL extent (4 MiB) holding a sector. */
export function extentOfSector(sector: number): number {
  return Math.floor(sector / 2 ** (AL_EXTENT_SHIFT - 9));
}

/** Bitmap bytes [start, end) of an AL extent. */
export function extentByteRange(extent: number): [number, number] {
  return [extent * BM_BYTES_PER_AL_EXTENT, (extent + 1) * BM_BYTES_PER_AL_EXTENT];
}

/** Bitmap bits [from, to) that cover sectors [sector, sector + count). */
export function bitRangeOfSectors(sector: number, count: number): [number, number] {
  return [bitOfSector(sector), Math.ceil((sector + count) / (4096 / SECTOR_BYTES))];
}

/**
 * Marks whole AL extents out of sync in a window of the bitmap (`window` holds bitmap bytes
 * starting at windowStartByte). Extents outside the window are ignored. Returns the number
 * of bits that were not set before (what apply-al reports).
 */
export function markExtentsInWindow(window: Uint8Array, windowStartByte: number, extents: Iterable<number>): number {
  let added = 0;
  const end = windowStartByte + window.length;
  for (const e of extents) {
    const [a, b] = extentByteRange(e);
    if (a < windowStartByte || b > end) continue;
    const off = a - windowStartByte;
    added += BITS_PER_AL_EXTENT - countBits(window, off, off + BM_BYTES_PER_AL_EXTENT);
    window.fill(0xff, off, off + BM_BYTES_PER_AL_EXTENT);
  }
  return added;
}
