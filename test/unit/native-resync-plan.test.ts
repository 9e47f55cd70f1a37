// The SyncTarget's request-building rule (spec/resync.md §5 step 5) through the pure native
// helper: how many 4 KiB blocks one P_RS_DATA_REQUEST starting at a set bit covers.
import { describe, expect, it } from 'vitest';
import { native } from '../../src/engine/native.js';

const MiB = 1 << 20;

/** A bitmap (LSB-first bytes) with the given bit ranges [from, to) set. */
function bits(nbits: number, ...ranges: Array<[number, number]>): Buffer {
  const b = Buffer.alloc(Math.ceil(nbits / 8));
  for (const [from, to] of ranges) for (let i = from; i < to; i++) b[i >> 3] |= 1 << (i & 7);
  return b;
}

const blocks = (first: number, budget: number, nbits: number, maxBio: number, map: Buffer): number =>
  native().resyncRequestBlocks(first, budget, nbits, maxBio, map);

describe('resync request building', () => {
  const N = 100_000;
  const all = bits(N, [0, N]);

  it('grows from block 0 up to max_bio_size', () => {
    expect(blocks(0, 10_000, N, MiB, all)).toBe(256);
    expect(blocks(0, 10_000, N, 128 * 1024, all)).toBe(32);
    expect(blocks(0, 10_000, N, 4096, all)).toBe(1);
  });

  it('stays naturally aligned: a start at a multiple of 2^k (and no more) covers at most 2^k blocks', () => {
    expect(blocks(1, 10_000, N, MiB, all)).toBe(1);
    expect(blocks(2, 10_000, N, MiB, all)).toBe(2);
    expect(blocks(6, 10_000, N, MiB, all)).toBe(2);
    expect(blocks(8, 10_000, N, MiB, all)).toBe(8);
    expect(blocks(96, 10_000, N, MiB, all)).toBe(32);
    expect(blocks(4096 + 512, 10_000, N, MiB, all)).toBe(256);
  });

  it('need not be a power of two: it ends at the first block in sync', () => {
    const map = bits(N, [0, 7], [16, 19]);
    expect(blocks(0, 10_000, N, MiB, map)).toBe(7); // the captured 28 KiB first request
    expect(blocks(16, 10_000, N, MiB, map)).toBe(3);
  });

  it('spends at most the budget (in 4 KiB blocks)', () => {
    expect(blocks(0, 5, N, MiB, all)).toBe(5);
    expect(blocks(0, 0, N, MiB, all)).toBe(0);
  });

  it('never crosses a 16 MiB resync extent', () => {
    // Only a max_bio_size beyond 16 MiB can reach the boundary from an aligned start.
    expect(blocks(0, 100_000, N, 64 * MiB, all)).toBe(4096);
    expect(blocks(3 * 4096, 100_000, N, 64 * MiB, all)).toBe(4096);
    expect(blocks(4096 - 8, 100_000, N, 64 * MiB, all)).toBe(8);
  });

  it('is clipped at the device end', () => {
    const n = 70;
    const map = bits(n, [0, n]);
    expect(blocks(64, 1000, n, MiB, map)).toBe(6);
    expect(blocks(69, 1000, n, MiB, map)).toBe(1);
    expect(blocks(70, 1000, n, MiB, map)).toBe(0);
  });
});
