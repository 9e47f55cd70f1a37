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

export function encodeSizes(s: Sizes): Buffer {
  const b = Buffer.alloc(s.qlim ? 56 : 32);
  b.writeBigUInt64BE(s.dSize, 0);
  b.writeBigUInt64BE(s.uSize, 8);
  b.writeBigUInt64BE(s.cSize, 16);
  b.writeUInt32BE(s.maxBioSize, 24);
  b.writeUInt16BE(s.queueOrderType, 28);
  b.writeUInt16BE(s.ddsFlags, 30);
  if (s.qlim) {
    const q = s.qlim;
    b.writeUInt32BE(q.physicalBlockSize, 32);
    b.writeUInt32BE(q.logicalBlockSize, 36);
    b.writeUInt32BE(q.alignmentOffset, 40);
    b.writeUInt32BE(q.ioMin, 44);
    b.writeUInt32BE(q.ioOpt, 48);
    b.writeUInt8(q.discardEnabled, 52);
    b.writeUInt8(q.discardZeroesData, 53);
    b.writeUInt8(q.writeSameCapable, 54);
  }
  return b;
}

/** agreedFeatures, if given, pins the size the kernel would require (56 iff FF_WSAME). */
export function decodeSizes(u: Uint8Array, agreedFeatures?: number): Sizes {
  if (agreedFeatures === undefined) expectLength('P_SIZES', u, 32, 56);
  else expectLength('P_SIZES', u, agreedFeatures & FF_WSAME ? 56 : 32);
  const b = Buffer.from(u.buffer, u.byteOffset, u.length);
  const s: Sizes = {
    dSize: b.readBigUInt64BE(0),
    uSize: b.readBigUInt64BE(8),
    cSize: b.readBigUInt64BE(16),
    maxBioSize: b.readUInt32BE(24),
    queueOrderType: b.readUInt16BE(28),
    ddsFlags: b.readUInt16BE(30),
  };
  if (s.ddsFlags & ~(DDSF_FORCED | DDSF_NO_RESYNC)) {
    throw new ProtocolError('ERR_PROTOCOL_VALUE', `dds_flags 0x${s.ddsFlags.toString(16)}`, 'P_SIZES');
  }
  if (b.length === 56) {
    s.qlim = {
      physicalBlockSize: b.readUInt32BE(32),
      logicalBlockSize: b.readUInt32BE(36),
      alignmentOffset: b.readUInt32BE(40),
      ioMin: b.readUInt32BE(44),
      ioOpt: b.readUInt32BE(48),
      discardEnabled: b[52],
      discardZeroesData: b[53],
      writeSameCapable: b[54],
    };
  }
  return s;
}
