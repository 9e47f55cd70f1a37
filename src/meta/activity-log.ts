// The 8.4 activity log on disk (spec/metadata-v08.md §4): transaction blocks with CRC-32C,
// their placement in the (striped) ring, and the replay that rebuilds the hot extent set
// (what `drbdmeta apply-al` does before it marks those extents out of sync). Pure.
import {
  AL_CONTEXT_PER_TRANSACTION,
  AL_EXTENTS_MAX,
  AL_MAGIC,
  AL_TR_INITIALIZED,
  AL_TR_UPDATE,
  AL_UPDATES_PER_TRANSACTION,
  BLOCK_4K,
  DRBD_MAGIC,
  MD_MAGIC_84_UNCLEAN,
  SECTOR_BYTES,
} from './constants.js';
import { crc32c } from './crc32c.js';

/** LC_FREE: an unused slot / extent number. */
export const AL_FREE = 0xffffffff;
const U16_FREE = 0xffff;

export interface AlUpdate {
  slot: number;
  extent: number;
}

export interface AlTransaction {
  trNumber: number;
  /** AL_TR_UPDATE (0) or AL_TR_INITIALIZED (0xFFFF). */
  type: number;
  /** Up to 64 slot changes. */
  updates: AlUpdate[];
  /** Number of AL slots (al-extents). */
  contextSize: number;
  /** First slot described by context[]. */
  contextStartSlot: number;
  /** Extent numbers of slots contextStartSlot.. (at most 919; missing entries are LC_FREE). */
  context: number[];
}

export interface DecodedAlTransaction extends AlTransaction {
  magic: number;
  crc: number;
  /** Magic and CRC both right. */
  valid: boolean;
  /** n_updates as stored (updates[] holds all 64 stored entries, trimmed of trailing free ones). */
  nUpdates: number;
  updateSlots: number[];
  updateExtents: number[];
}

const O = {
  magic: 0x000,
  tr: 0x004,
  crc: 0x008,
  type: 0x00c,
  nUpdates: 0x00e,
  contextSize: 0x010,
  contextStart: 0x012,
  updateSlot: 0x024,
  updateExtent: 0x0a4,
  context: 0x1a4,
} as const;

/** Encodes one transaction into a 4 KiB block, CRC included. */
export function encodeAlTransaction(tr: AlTransaction): Buffer {
  if (tr.updates.length > AL_UPDATES_PER_TRANSACTION) throw new RangeError('at most 64 updates per AL transaction');
  if (tr.context.length > AL_CONTEXT_PER_TRANSACTION) throw new RangeError('at most 919 context slots per AL transaction');
  const b = Buffer.alloc(BLOCK_4K);
  b.writeUInt32BE(AL_MAGIC, O.magic);
  b.writeUInt32BE(tr.trNumber >>> 0, O.tr);
  b.writeUInt16BE(tr.type, O.type);
  b.writeUInt16BE(tr.updates.length, O.nUpdates);
  b.writeUInt16BE(tr.contextSize, O.contextSize);
  b.writeUInt16BE(tr.contextStartSlot, O.contextStart);
  // The initialized block (create-md, apply-al) is all zero past the header; update
  // transactions mark unused entries LC_FREE.
  const empty = tr.type === AL_TR_INITIALIZED && tr.updates.length === 0 && tr.context.length === 0;
  if (!empty) {
    for (let i = 0; i < AL_UPDATES_PER_TRANSACTION; i++) {
      const u = tr.updates[i];
      b.writeUInt16BE(u ? u.slot : U16_FREE, O.updateSlot + 2 * i);
      b.writeUInt32BE(u ? u.extent >>> 0 : AL_FREE, O.updateExtent + 4 * i);
    }
    for (let i = 0; i < AL_CONTEXT_PER_TRANSACTION; i++) {
      const e = tr.context[i];
      b.writeUInt32BE(e === undefined ? AL_FREE : e >>> 0, O.context + 4 * i);
    }
  }
  b.writeUInt32BE(crc32c(b), O.crc);
  return b;
}

/** The block create-md and apply-al write into every AL slot: tr 0, type INITIALIZED. */
export function initializedAlBlock(): Buffer {
  return encodeAlTransaction({ trNumber: 0, type: AL_TR_INITIALIZED, updates: [], contextSize: 0, contextStartSlot: 0, context: [] });
}

/** The whole AL area as create-md writes it: every block initialized. */
export function initializedAlArea(alStripes: number, alStripeSize4k: number): Buffer {
  const one = initializedAlBlock();
  const n = alStripes * alStripeSize4k;
  const area = Buffer.alloc(n * BLOCK_4K);
  for (let i = 0; i < n; i++) one.copy(area, i * BLOCK_4K);
  return area;
}

/** Decodes a block and checks magic and CRC (computed with the CRC field as 0). */
export function decodeAlTransaction(block: Buffer): DecodedAlTransaction {
  const b = Buffer.from(block.subarray(0, BLOCK_4K));
  const magic = b.readUInt32BE(O.magic);
  const crc = b.readUInt32BE(O.crc);
  b.writeUInt32BE(0, O.crc);
  const valid = magic === AL_MAGIC && crc32c(b) === crc;
  const nUpdates = b.readUInt16BE(O.nUpdates);
  const updateSlots: number[] = [];
  const updateExtents: number[] = [];
  for (let i = 0; i < AL_UPDATES_PER_TRANSACTION; i++) {
    updateSlots.push(b.readUInt16BE(O.updateSlot + 2 * i));
    updateExtents.push(b.readUInt32BE(O.updateExtent + 4 * i));
  }
  const context: number[] = [];
  for (let i = 0; i < AL_CONTEXT_PER_TRANSACTION; i++) context.push(b.readUInt32BE(O.context + 4 * i));
  const updates: AlUpdate[] = [];
  for (let i = 0; i < Math.min(nUpdates, AL_UPDATES_PER_TRANSACTION); i++) updates.push({ slot: updateSlots[i], extent: updateExtents[i] });
  return {
    magic,
    crc,
    valid,
    trNumber: b.readUInt32BE(O.tr),
    type: b.readUInt16BE(O.type),
    nUpdates,
    updates,
    updateSlots,
    updateExtents,
    contextSize: b.readUInt16BE(O.contextSize),
    contextStartSlot: b.readUInt16BE(O.contextStart),
    context,
  };
}

/**
 * AL block (0-based, within the AL area) that transaction number `tr` goes to: the ring
 * position tr mod (stripes × size), spread over the stripes.
 */
export function alBlockForTransaction(tr: number, alStripes: number, alStripeSize4k: number): number {
  const t = (tr >>> 0) % (alStripes * alStripeSize4k);
  return (t % alStripes) * alStripeSize4k + Math.floor(t / alStripes);
}

export interface AlReplayResult {
  /**
   * 'clean': nothing to replay (all blocks initialized, or a pre-8.4 AL without valid sectors);
   * 'replayed': update transactions found, hotExtents holds the active set;
   * 'no-valid' (ENODATA): not one valid block; 'no-updates' (EINVAL): some valid, none usable.
   */
  status: 'clean' | 'replayed' | 'no-valid' | 'no-updates';
  /** Distinct extent numbers of the active set, ascending. */
  hotExtents: number[];
  /** The extent of every used slot, ascending, duplicates kept (drbdmeta reports per slot). */
  slotExtents: number[];
  /** Diagnostics drbdmeta prints on stderr, in its words. */
  messages: string[];
  /** The AL was in the pre-8.4 (512-byte sector) format: it is re-initialized regardless. */
  oldFormat: boolean;
}

/** Signed 32-bit difference, so that transaction numbers compare across wrap-around. */
const trDiff = (a: number, b: number): number => ((a - b) | 0);

/**
 * Rebuilds the activity log's active set from the AL area (alStripes × alStripeSize4k
 * blocks, as read from disk) the way drbdmeta apply-al does: validate every block, walk
 * the ring from the oldest to the newest update transaction, apply each one's context
 * window and then its updates.
 */
export function replayActivityLog(
  area: Buffer,
  sb: { magic: number; alStripes: number; alStripeSize4k: number; alNrExtents: number },
): AlReplayResult {
  const defaultGeometry = sb.alStripes === 1 && sb.alStripeSize4k === 8;
  const has84Magic = (i: number): boolean => area.length >= (i + 1) * BLOCK_4K && area.readUInt32BE(i * BLOCK_4K) === AL_MAGIC;
  if (sb.magic === MD_MAGIC_84_UNCLEAN || has84Magic(0) || has84Magic(1) || !defaultGeometry) {
    return replay84(area, sb.alStripes, sb.alStripeSize4k);
  }
  // Meta-data last used by DRBD < 8.4: the AL is 512-byte transactions.
  return replay07(area, sb.alNrExtents);
}

function fromSlots(slots: Map<number, number>): { hotExtents: number[]; slotExtents: number[] } {
  const slotExtents = [...slots.values()].filter((e) => e !== AL_FREE).sort((a, b) => a - b);
  return { hotExtents: [...new Set(slotExtents)], slotExtents };
}

interface Cursor {
  i: number;
  tr: number;
}

function replay84(area: Buffer, stripes: number, size4k: number): AlReplayResult {
  const mx = stripes * size4k;
  const messages: string[] = [];
  const blocks: DecodedAlTransaction[] = [];
  let foundValid = 0;
  let foundUpdates = 0;
  let oldest: Cursor = { i: 0, tr: 0 };
  let newest: Cursor = { i: 0, tr: 0 };
  for (let b = 0; b < mx; b++) {
    // Logical ring position b lives in on-disk block alBlockForTransaction(b).
    const o = alBlockForTransaction(b, stripes, size4k);
    const tr = decodeAlTransaction(area.subarray(o * BLOCK_4K, (o + 1) * BLOCK_4K));
    blocks.push(tr);
    if (!tr.valid) continue;
    foundValid++;
    if (tr.type === AL_TR_INITIALIZED) continue;
    if (++foundUpdates === 1) {
      oldest = { i: b, tr: tr.trNumber };
      newest = { ...oldest };
      continue;
    }
    if (trDiff(tr.trNumber, oldest.tr) < 0) oldest = { i: b, tr: tr.trNumber };
    if (trDiff(tr.trNumber, newest.tr) > 0) newest = { i: b, tr: tr.trNumber };
  }
  if (foundValid === 0) {
    messages.push('No usable activity log found. Do you need to create-md?');
    return { status: 'no-valid', hotExtents: [], slotExtents: [], messages, oldFormat: false };
  }
  if (foundValid !== mx) messages.push(`${mx - foundValid} corrupt AL transactions found`);
  if (foundUpdates === 0) {
    // All initialized, or only the very first transaction torn: nothing to replay.
    if (foundValid === mx || (!blocks[0].valid && foundValid === mx - 1)) {
      return { status: 'clean', hotExtents: [], slotExtents: [], messages, oldFormat: false };
    }
    messages.push('No valid AL update transaction found.');
    return { status: 'no-updates', hotExtents: [], slotExtents: [], messages, oldFormat: false };
  }
  const slots = new Map<number, number>();
  const last = newest.i < oldest.i ? newest.i + mx : newest.i;
  for (let b = oldest.i; b <= last; b++) {
    const idx = b % mx;
    const tr = blocks[idx];
    if (!tr.valid || tr.type !== AL_TR_UPDATE) continue;
    for (let i = 0; i < AL_CONTEXT_PER_TRANSACTION; i++) {
      const slot = tr.contextStartSlot + i;
      if (tr.context[i] === AL_FREE && slot >= tr.contextSize) continue;
      if (slot >= AL_EXTENTS_MAX) {
        messages.push(`slot number out of range: tr:${idx} slot:${slot}`);
        continue;
      }
      slots.set(slot, tr.context[i]);
    }
    for (let i = 0; i < AL_UPDATES_PER_TRANSACTION; i++) {
      const slot = tr.updateSlots[i];
      if (i >= tr.nUpdates && slot === U16_FREE) continue;
      if (slot >= AL_EXTENTS_MAX) {
        messages.push(`update slot number out of range: tr:${idx} slot:${slot}`);
        continue;
      }
      slots.set(slot, tr.updateExtents[i]);
    }
  }
  return { status: 'replayed', ...fromSlots(slots), messages, oldFormat: false };
}

/** Pre-8.4 AL: 512-byte sectors {magic, tr, 62 × (slot, extent), xor of extents, pad}. */
const AL07_SLOTS = 62;

function replay07(area: Buffer, alNrExtents: number): AlReplayResult {
  const messages: string[] = [];
  // The old format used only as many sectors as the configured al-extents needed.
  const mx = Math.min(1 + Math.ceil(alNrExtents / (AL07_SLOTS - 1)), Math.floor(area.length / SECTOR_BYTES));
  const sectors: { valid: boolean; tr: number; pos: number[]; ext: number[] }[] = [];
  let foundValid = 0;
  let oldest: Cursor = { i: 0, tr: 0 };
  let newest: Cursor = { i: 0, tr: 0 };
  for (let b = 0; b < mx; b++) {
    const base = b * SECTOR_BYTES;
    const magic = area.readUInt32BE(base);
    const tr = area.readUInt32BE(base + 4);
    const pos: number[] = [];
    const ext: number[] = [];
    let xor = 0;
    for (let i = 0; i < AL07_SLOTS; i++) {
      pos.push(area.readUInt32BE(base + 8 + 8 * i));
      const e = area.readUInt32BE(base + 12 + 8 * i);
      ext.push(e);
      xor = (xor ^ e) >>> 0;
    }
    const valid = magic === DRBD_MAGIC && area.readUInt32BE(base + 8 + 8 * AL07_SLOTS) === xor;
    sectors.push({ valid, tr, pos, ext });
    if (!valid) continue;
    if (++foundValid === 1) {
      oldest = { i: b, tr };
      newest = { ...oldest };
      continue;
    }
    if (trDiff(tr, oldest.tr) < 0) oldest = { i: b, tr };
    if (trDiff(tr, newest.tr) > 0) newest = { i: b, tr };
  }
  if (foundValid === 0) {
    messages.push('No usable activity log found.');
    return { status: 'clean', hotExtents: [], slotExtents: [], messages, oldFormat: true };
  }
  if (foundValid !== mx) {
    messages.push(`${mx - foundValid} corrupt or uninitialized AL transactions found`);
    messages.push('You can safely ignore this if this node was cleanly stopped (no crash).');
  }
  const slots = new Map<number, number>();
  const last = newest.i < oldest.i ? newest.i + mx : newest.i;
  for (let b = oldest.i; b <= last; b++) {
    const idx = b % mx;
    const s = sectors[idx];
    if (!s.valid) continue;
    // Entry 0 is the transaction's own update, 1..61 the context: apply context first.
    for (let i = AL07_SLOTS - 1; i >= 0; i--) {
      if (s.ext[i] === AL_FREE) continue;
      if (s.pos[i] >= AL_EXTENTS_MAX) {
        messages.push(`slot number out of range: tr:${idx} slot:${s.pos[i]}`);
        continue;
      }
      slots.set(s.pos[i], s.ext[i]);
    }
  }
  return { status: 'replayed', ...fromSlots(slots), messages, oldFormat: true };
}
