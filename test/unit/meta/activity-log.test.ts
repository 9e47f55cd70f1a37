// AL transactions: the golden initialized block, encode/decode, ring placement, replay.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AL_FREE,
  alBlockForTransaction,
  decodeAlTransaction,
  encodeAlTransaction,
  initializedAlArea,
  initializedAlBlock,
  replayActivityLog,
  type AlTransaction,
} from '../../../src/meta/activity-log.js';
import { DRBD_MAGIC, MD_MAGIC_08, MD_MAGIC_84_UNCLEAN } from '../../../src/meta/constants.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const sb84 = { magic: MD_MAGIC_84_UNCLEAN, alStripes: 1, alStripeSize4k: 8, alNrExtents: 1237 };

/** A transaction; without a context window it claims context_size 0, so no slot is described. */
function tr(trNumber: number, updates: Array<[number, number]>, context: number[] = [], contextStartSlot = 0, contextSize = context.length ? 67 : 0): AlTransaction {
  return { trNumber, type: 0, updates: updates.map(([slot, extent]) => ({ slot, extent })), contextSize, contextStartSlot, context };
}

/** An AL area of 8 blocks holding the given transactions at their ring positions. */
function area(trs: AlTransaction[], stripes = 1, size = 8): Buffer {
  const a = initializedAlArea(stripes, size);
  for (const t of trs) encodeAlTransaction(t).copy(a, alBlockForTransaction(t.trNumber, stripes, size) * 4096);
  return a;
}

describe('AL transaction blocks', () => {
  it('the initialized block is the spec\'s golden block', () => {
    const b = initializedAlBlock();
    expect(b.subarray(0, 16).toString('hex')).toBe('69cb65a200000000709cc651ffff0000');
    expect(b.subarray(16).every((x) => x === 0)).toBe(true);
    expect(sha(b)).toBe('52cd904d58f207a32113d76020e96c5fcc8c573dc71878cb581d14f7d41af15e');
    expect(initializedAlArea(1, 8).length).toBe(32768);
  });

  it('update transactions round-trip; unused entries are LC_FREE; CRC protects every byte', () => {
    const t = tr(0xfffffffe, [[5, 100], [6, 7]], [1, 2, AL_FREE, 4], 919, 1237);
    const b = encodeAlTransaction(t);
    const d = decodeAlTransaction(b);
    expect(d.valid).toBe(true);
    expect({ ...t }).toEqual({ trNumber: d.trNumber, type: d.type, updates: d.updates, contextSize: d.contextSize, contextStartSlot: d.contextStartSlot, context: t.context });
    expect(d.context.slice(0, 5)).toEqual([1, 2, AL_FREE, 4, AL_FREE]);
    expect(d.updateSlots[2]).toBe(0xffff);
    expect(d.updateExtents[2]).toBe(AL_FREE);
    const flipped = Buffer.from(b);
    flipped[4000] ^= 1;
    expect(decodeAlTransaction(flipped).valid).toBe(false);
    expect(() => encodeAlTransaction(tr(1, Array.from({ length: 65 }, (_, i) => [i, i] as [number, number])))).toThrow(/64 updates/);
  });

  it('transaction numbers map to blocks round-robin over the stripes', () => {
    expect([0, 1, 7, 8, 9].map((n) => alBlockForTransaction(n, 1, 8))).toEqual([0, 1, 7, 0, 1]);
    // 2 stripes × 4 blocks: t' alternates stripes, advancing within each.
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => alBlockForTransaction(n, 2, 4))).toEqual([0, 4, 1, 5, 2, 6, 3, 7, 0]);
    expect(alBlockForTransaction(0xffffffff, 1, 8)).toBe(7);
  });
});

describe('AL replay', () => {
  it('freshly initialized AL: clean, nothing to apply', () => {
    expect(replayActivityLog(initializedAlArea(1, 8), sb84)).toMatchObject({ status: 'clean', hotExtents: [], messages: [] });
  });

  it('applies context then updates, oldest to newest; later transactions win', () => {
    const r = replayActivityLog(area([tr(10, [[0, 50]], [7, 8, 9]), tr(11, [[1, 60]]), tr(12, [[0, 70], [3, 71]])]), sb84);
    expect(r.status).toBe('replayed');
    // slot 0: 7 → 50 → 70; slot 1: 8 → 60; slot 2: 9; slot 3: 71.
    expect(r.hotExtents).toEqual([9, 60, 70, 71]);
  });

  it('a context window describes every slot below context_size: LC_FREE there empties the slot', () => {
    const r = replayActivityLog(area([tr(20, [[0, 1], [1, 2], [2, 3]]), tr(21, [], [AL_FREE, 2, AL_FREE], 0, 3)]), sb84);
    expect(r.hotExtents).toEqual([2]);
  });

  it('orders by transaction number across the 32-bit wrap and the ring wrap', () => {
    // 10 transactions 0xFFFFFFFD.. 6: only the last 8 survive in the ring.
    const trs = Array.from({ length: 10 }, (_, i) => tr((0xfffffffd + i) >>> 0, [[0, 100 + i]]));
    const r = replayActivityLog(area(trs), sb84);
    expect(r.hotExtents).toEqual([109]);
  });

  it('one torn block is reported and skipped', () => {
    const a = area([tr(1, [[0, 5]]), tr(2, [[1, 6]]), tr(3, [[2, 7]])]);
    a[2 * 4096 + 50] ^= 0xff; // block 2 holds transaction 2 (slot 1 → 6)
    const r = replayActivityLog(a, sb84);
    expect(r.messages).toEqual(['1 corrupt AL transactions found']);
    expect(r.hotExtents).toEqual([5, 7]);
  });

  it('no valid block at all, or valid blocks without any update: the two error statuses', () => {
    expect(replayActivityLog(Buffer.alloc(32768, 0x11), sb84)).toMatchObject({
      status: 'no-valid',
      messages: ['No usable activity log found. Do you need to create-md?'],
    });
    const a = initializedAlArea(1, 8);
    a.fill(0x22, 4096, 3 * 4096);
    expect(replayActivityLog(a, sb84)).toMatchObject({ status: 'no-updates', messages: ['2 corrupt AL transactions found', 'No valid AL update transaction found.'] });
    // Only block 0 torn (the first transaction failed): still clean.
    const b = initializedAlArea(1, 8);
    b.fill(0x22, 0, 4096);
    expect(replayActivityLog(b, sb84).status).toBe('clean');
  });

  it('slot numbers beyond AL_EXTENTS_MAX are reported and ignored', () => {
    const r = replayActivityLog(area([tr(4, [[65534, 9], [2, 8]])]), sb84);
    expect(r.messages).toEqual(['update slot number out of range: tr:4 slot:65534']);
    expect(r.hotExtents).toEqual([8]);
  });

  it('pre-8.4 AL (512-byte sectors, xor checksum) when magic 08 and no 8.4 AL magic', () => {
    const a = Buffer.alloc(32768);
    const sector = (i: number, trn: number, entries: Array<[number, number]>): void => {
      const base = i * 512;
      a.writeUInt32BE(DRBD_MAGIC, base);
      a.writeUInt32BE(trn, base + 4);
      let xor = 0;
      for (let k = 0; k < 62; k++) {
        const [pos, ext] = entries[k] ?? [0, AL_FREE];
        a.writeUInt32BE(pos, base + 8 + 8 * k);
        a.writeUInt32BE(ext, base + 12 + 8 * k);
        xor = (xor ^ ext) >>> 0;
      }
      a.writeUInt32BE(xor, base + 8 + 8 * 62);
    };
    sector(0, 1, [[0, 11], [1, 12]]);
    sector(1, 2, [[1, 13]]);
    const r = replayActivityLog(a, { magic: MD_MAGIC_08, alStripes: 1, alStripeSize4k: 8, alNrExtents: 61 });
    expect(r.oldFormat).toBe(true);
    expect(r.messages).toEqual([]);
    expect(r.hotExtents).toEqual([11, 13]);
    // All zero: nothing to replay, but it is re-initialized (oldFormat).
    expect(replayActivityLog(Buffer.alloc(32768), { magic: MD_MAGIC_08, alStripes: 1, alStripeSize4k: 8, alNrExtents: 61 })).toMatchObject({
      status: 'clean',
      oldFormat: true,
      messages: ['No usable activity log found.'],
    });
  });
});
