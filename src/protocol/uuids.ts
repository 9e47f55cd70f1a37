// P_UUIDS (6 x u64) and P_SYNC_UUID (u64) (wire-protocol-84.md §4.2; semantics in
// handshake-and-split-brain.md). All values are bigint: UUIDs use the full 64 bits. The constants
// (UUID_JUST_CREATED, the UUID_FLAG_* bits of `flags`) and the semantics are src/state/uuids.ts's.
import { expectLength } from './errors.js';

export interface Uuids {
  current: bigint;
  bitmap: bigint;
  history: [bigint, bigint];
  /** number of set bitmap bits (tshark: "Dirty bits") */
  bitmapWeight: bigint;
  /** UI_FLAGS: src/state's UUID_FLAG_* bits (numbers; Number(flags) to test them). */
  flags: bigint;
}

export function encodeUuids(u: Uuids): Buffer {
  const b = Buffer.alloc(48);
  [u.current, u.bitmap, u.history[0], u.history[1], u.bitmapWeight, u.flags].forEach((v, i) => b.writeBigUInt64BE(v, i * 8));
  return b;
}

export function decodeUuids(p: Uint8Array): Uuids {
  expectLength('P_UUIDS', p, 48);
  const b = Buffer.from(p.buffer, p.byteOffset, p.length);
  const v = (i: number) => b.readBigUInt64BE(i * 8);
  return { current: v(0), bitmap: v(1), history: [v(2), v(3)], bitmapWeight: v(4), flags: v(5) };
}

export function encodeSyncUuid(uuid: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(uuid);
  return b;
}

export function decodeSyncUuid(p: Uint8Array): bigint {
  expectLength('P_SYNC_UUID', p, 8);
  return Buffer.from(p.buffer, p.byteOffset, p.length).readBigUInt64BE(0);
}
