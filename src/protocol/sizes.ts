// P_SIZES (wire-protocol-84.md §4.2): 32 bytes, or 56 with the o_qlim block when FF_WSAME was
// agreed. udrbd advertises no features, so it sends 32; it decodes both.
import { expectLength, ProtocolError } from './errors.js';
import { FF_WSAME } from './commands.js';

export const DDSF_FORCED = 1;
export const DDSF_NO_RESYNC = 2;

export interface QueueLimits {
  physicalBlockSize: number;
  logicalBlockSize: number;
  alignmentOffset: number;
  ioMin: number;
  ioOpt: number;
  discardEnabled: number;
  discardZeroesData: number;
  writeSameCapable: number;
}

export interface Sizes {
  /** usable backing size, sectors (0 if diskless) */
  dSize: bigint;
  /** user-configured size, sectors (0 = unset) */
  uSize: bigint;
  /** current device size, sectors (0 = "please reply") */
  cSize: bigint;
  maxBioSize: number;
  queueOrderType: number;
  ddsFlags: number;
  /** present iff the packet is the 56-byte form */
  qlim?: QueueLimits;
}

// The big-endian layout (§4.2), one table for both directions: field, offset, width.
type Width = 'u64' | 'u32' | 'u16' | 'u8';
type Layout<T> = ReadonlyArray<readonly [keyof T & string, number, Width]>;

const HEAD: Layout<Omit<Sizes, 'qlim'>> = [
  ['dSize', 0, 'u64'],
  ['uSize', 8, 'u64'],
  ['cSize', 16, 'u64'],
  ['maxBioSize', 24, 'u32'],
  ['queueOrderType', 28, 'u16'],
  ['ddsFlags', 30, 'u16'],
];

/** o_qlim, present in the 56-byte form. */
const QLIM: Layout<QueueLimits> = [
  ['physicalBlockSize', 32, 'u32'],
  ['logicalBlockSize', 36, 'u32'],
  ['alignmentOffset', 40, 'u32'],
  ['ioMin', 44, 'u32'],
  ['ioOpt', 48, 'u32'],
  ['discardEnabled', 52, 'u8'],
  ['discardZeroesData', 53, 'u8'],
  ['writeSameCapable', 54, 'u8'],
];

function writeFields<T>(b: Buffer, layout: Layout<T>, obj: T): void {
  for (const [key, at, width] of layout) {
    const v = obj[key] as unknown as bigint & number;
    if (width === 'u64') b.writeBigUInt64BE(v, at);
    else if (width === 'u32') b.writeUInt32BE(v, at);
    else if (width === 'u16') b.writeUInt16BE(v, at);
    else b.writeUInt8(v, at);
  }
}

function readFields<T>(b: Buffer, layout: Layout<T>): T {
  const out: Record<string, bigint | number> = {};
  for (const [key, at, width] of layout) {
    out[key] =
      width === 'u64' ? b.readBigUInt64BE(at) : width === 'u32' ? b.readUInt32BE(at) : width === 'u16' ? b.readUInt16BE(at) : b[at];
  }
  return out as T;
}

export function encodeSizes(s: Sizes): Buffer {
  const b = Buffer.alloc(s.qlim ? 56 : 32);
  writeFields(b, HEAD, s);
  if (s.qlim) writeFields(b, QLIM, s.qlim);
  return b;
}

/** agreedFeatures, if given, pins the size the kernel would require (56 iff FF_WSAME). */
export function decodeSizes(u: Uint8Array, agreedFeatures?: number): Sizes {
  if (agreedFeatures === undefined) expectLength('P_SIZES', u, 32, 56);
  else expectLength('P_SIZES', u, agreedFeatures & FF_WSAME ? 56 : 32);
  const b = Buffer.from(u.buffer, u.byteOffset, u.length);
  const s: Sizes = readFields(b, HEAD);
  if (s.ddsFlags & ~(DDSF_FORCED | DDSF_NO_RESYNC)) {
    throw new ProtocolError('ERR_PROTOCOL_VALUE', `dds_flags 0x${s.ddsFlags.toString(16)}`, 'P_SIZES');
  }
  if (b.length === 56) s.qlim = readFields(b, QLIM);
  return s;
}
