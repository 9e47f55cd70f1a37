// The 4 KiB v08 superblock (spec/metadata-v08.md §2): big-endian fields, encode/decode and
// drbdmeta's validity check. Pure.
import {
  AL_NR_EXTENTS_CREATE_MD,
  AL_STRIPES_DEFAULT,
  AL_STRIPE_SIZE_4K_DEFAULT,
  BLOCK_4K,
  BM_BYTES_PER_BIT,
  MD_4K_SECT,
  MD_MAGIC_07,
  MD_MAGIC_08,
  MD_MAGIC_09,
  MD_MAGIC_84_UNCLEAN,
} from './constants.js';
import { MDF } from '../state/attach.js';
import { UUID_JUST_CREATED } from '../state/uuids.js';
import { MetaDataError } from './errors.js';
import { bmBytesForSectors, layoutFromFields, type MetaKind, type MetaLayout } from './layout.js';

/** The generation-UUID set: Current, Bitmap, History-1 (younger), History-2 (older). */
export interface UuidSet {
  current: bigint;
  bitmap: bigint;
  history: [bigint, bigint];
}

export interface Superblock {
  /** la_size_sect: last agreed DRBD device size in sectors. */
  laSizeSect: number;
  uuids: UuidSet;
  deviceUuid: bigint;
  /** MDF_* bits. */
  flags: number;
  magic: number;
  mdSizeSect: number;
  alOffsetSect: number;
  alNrExtents: number;
  bmOffsetSect: number;
  bmBytesPerBit: number;
  laPeerMaxBioSize: number;
  alStripes: number;
  alStripeSize4k: number;
}

const OFF = {
  laSize: 0x00,
  uuid: 0x08,
  deviceUuid: 0x28,
  flags: 0x38,
  magic: 0x3c,
  mdSize: 0x40,
  alOffset: 0x44,
  alNrExtents: 0x48,
  bmOffset: 0x4c,
  bmBytesPerBit: 0x50,
  laPeerMaxBio: 0x54,
  alStripes: 0x58,
  alStripeSize4k: 0x5c,
} as const;

/** Encodes a superblock into a fresh zero-filled 4 KiB block. */
export function encodeSuperblock(sb: Superblock): Buffer {
  const b = Buffer.alloc(BLOCK_4K);
  b.writeBigUInt64BE(BigInt(sb.laSizeSect), OFF.laSize);
  const uuids = [sb.uuids.current, sb.uuids.bitmap, sb.uuids.history[0], sb.uuids.history[1]];
  uuids.forEach((u, i) => b.writeBigUInt64BE(BigInt.asUintN(64, u), OFF.uuid + 8 * i));
  b.writeBigUInt64BE(BigInt.asUintN(64, sb.deviceUuid), OFF.deviceUuid);
  b.writeUInt32BE(sb.flags >>> 0, OFF.flags);
  b.writeUInt32BE(sb.magic >>> 0, OFF.magic);
  b.writeUInt32BE(sb.mdSizeSect >>> 0, OFF.mdSize);
  b.writeInt32BE(sb.alOffsetSect, OFF.alOffset);
  b.writeUInt32BE(sb.alNrExtents >>> 0, OFF.alNrExtents);
  b.writeInt32BE(sb.bmOffsetSect, OFF.bmOffset);
  b.writeUInt32BE(sb.bmBytesPerBit >>> 0, OFF.bmBytesPerBit);
  b.writeUInt32BE(sb.laPeerMaxBioSize >>> 0, OFF.laPeerMaxBio);
  b.writeUInt32BE(sb.alStripes >>> 0, OFF.alStripes);
  b.writeUInt32BE(sb.alStripeSize4k >>> 0, OFF.alStripeSize4k);
  return b;
}

/**
 * Decodes the fields (no validation). la_size_sect above 2^53 loses precision; such a value
 * is garbage anyway and gets clipped to the usable size.
 */
export function decodeSuperblock(block: Buffer): Superblock {
  if (block.length < 0x60) throw new RangeError('superblock buffer too short');
  let alStripes = block.readUInt32BE(OFF.alStripes);
  let alStripeSize4k = block.readUInt32BE(OFF.alStripeSize4k);
  // Meta-data written before AL striping existed has both fields 0: the fixed 32 KiB AL.
  if (alStripes === 0 && alStripeSize4k === 0) {
    alStripes = AL_STRIPES_DEFAULT;
    alStripeSize4k = AL_STRIPE_SIZE_4K_DEFAULT;
  }
  return {
    laSizeSect: Number(block.readBigUInt64BE(OFF.laSize)),
    uuids: {
      current: block.readBigUInt64BE(OFF.uuid),
      bitmap: block.readBigUInt64BE(OFF.uuid + 8),
      history: [block.readBigUInt64BE(OFF.uuid + 16), block.readBigUInt64BE(OFF.uuid + 24)],
    },
    deviceUuid: block.readBigUInt64BE(OFF.deviceUuid),
    flags: block.readUInt32BE(OFF.flags),
    magic: block.readUInt32BE(OFF.magic),
    mdSizeSect: block.readUInt32BE(OFF.mdSize),
    alOffsetSect: block.readInt32BE(OFF.alOffset),
    alNrExtents: block.readUInt32BE(OFF.alNrExtents),
    bmOffsetSect: block.readInt32BE(OFF.bmOffset),
    bmBytesPerBit: block.readUInt32BE(OFF.bmBytesPerBit),
    laPeerMaxBioSize: block.readUInt32BE(OFF.laPeerMaxBio),
    alStripes,
    alStripeSize4k,
  };
}

/** The superblock create-md writes for a layout: UUIDs 4:0:0:0, flags AL_CLEAN, magic 08. */
export function freshSuperblock(layout: MetaLayout, laPeerMaxBioSize = 0): Superblock {
  return {
    laSizeSect: 0,
    uuids: { current: UUID_JUST_CREATED, bitmap: 0n, history: [0n, 0n] },
    deviceUuid: 0n,
    flags: MDF.AL_CLEAN,
    magic: MD_MAGIC_08,
    mdSizeSect: layout.mdSizeSect,
    alOffsetSect: layout.alOffsetSect,
    alNrExtents: AL_NR_EXTENTS_CREATE_MD,
    bmOffsetSect: layout.bmOffsetSect,
    bmBytesPerBit: BM_BYTES_PER_BIT,
    laPeerMaxBioSize,
    alStripes: layout.alStripes,
    alStripeSize4k: layout.alStripeSize4k,
  };
}

/** True for the two v08 magics (clean 08 and the 8.4 kernel's "unclean"). */
export function isV08Magic(magic: number): boolean {
  return magic === MD_MAGIC_08 || magic === MD_MAGIC_84_UNCLEAN;
}

/** Name of a meta-data magic found on disk, or undefined when it is none of DRBD's. */
export function magicName(magic: number): 'v07' | 'v08' | 'v09' | undefined {
  if (magic === MD_MAGIC_07) return 'v07';
  if (isV08Magic(magic)) return 'v08';
  if (magic === MD_MAGIC_09) return 'v09';
  return undefined;
}

/** Meta-data is clean when the magic is 08 (not 84_UNCLEAN) and AL_CLEAN is set. */
export function isClean(sb: Superblock): boolean {
  return sb.magic !== MD_MAGIC_84_UNCLEAN && (sb.flags & MDF.AL_CLEAN) !== 0;
}

/**
 * drbdmeta's validity check of v08 meta-data found at the expected place: magic, AL
 * geometry, offsets consistent with the formulas for this kind and device size. Returns
 * the layout the superblock describes; throws MetaDataError("No valid meta data found", 1)
 * after the specific complaint drbdmeta prints (none for a plain wrong magic).
 */
export function validateSuperblock(sb: Superblock, kind: MetaKind, mdDeviceBytes: number): MetaLayout {
  const complaints: string[] = [];
  const fail = (): never => {
    complaints.push('No valid meta data found');
    throw new MetaDataError(complaints.join('\n'), 1);
  };
  if (!isV08Magic(sb.magic)) fail();
  const alBlocks = sb.alStripes * sb.alStripeSize4k;
  // The kernel refuses fewer than 8 AL blocks; drbdmeta cannot handle more than 32 MiB of AL.
  if (alBlocks < 8 || alBlocks > 8192) {
    complaints.push(`unexpected activity log geometry: al-stripes ${sb.alStripes}, al-stripe-size-4k ${sb.alStripeSize4k}`);
    fail();
  }
  const alSizeSect = alBlocks * 8;
  if (kind.kind === 'internal') {
    if (sb.alOffsetSect !== -alSizeSect) {
      complaints.push(`v08 al_offset: expected ${-alSizeSect}, found ${sb.alOffsetSect}`);
      fail();
    }
    const mdSizeSect = bmBytesForSectors(Math.floor(mdDeviceBytes / 512)) / 512 + MD_4K_SECT + alSizeSect;
    if (sb.bmOffsetSect !== -mdSizeSect + MD_4K_SECT) {
      complaints.push(`strange bm_offset ${sb.bmOffsetSect} (expected: ${-mdSizeSect + MD_4K_SECT})`);
      fail();
    }
    if (sb.mdSizeSect !== mdSizeSect) {
      complaints.push(`strange md_size_sect ${sb.mdSizeSect} (expected: ${mdSizeSect})`);
      fail();
    }
  } else {
    if (sb.alOffsetSect !== MD_4K_SECT) {
      complaints.push(`v08 Magic number (al_offset) not found\n\texpected: ${MD_4K_SECT}, found ${sb.alOffsetSect}`);
      fail();
    }
    if (sb.bmOffsetSect !== MD_4K_SECT + alSizeSect) {
      complaints.push(`v08 bm_offset: expected ${MD_4K_SECT + alSizeSect}, found ${sb.bmOffsetSect}`);
      fail();
    }
  }
  if (sb.bmBytesPerBit !== BM_BYTES_PER_BIT) {
    // drbdmeta asserts on this; the 8.4 kernel refuses it with this wording.
    throw new MetaDataError(`unexpected bm_bytes_per_bit: ${sb.bmBytesPerBit} (expected ${BM_BYTES_PER_BIT})`, 1);
  }
  return layoutFromFields(kind, mdDeviceBytes, sb);
}
