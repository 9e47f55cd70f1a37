// Where v08 meta-data lives: superblock, activity log and bitmap offsets for internal,
// indexed external and flexible external meta-data (spec/metadata-v08.md §1). Pure.
import type { MetaDisk } from '../config/model.js';
import {
  AL_STRIPES_DEFAULT,
  AL_STRIPE_SIZE_4K_DEFAULT,
  BLOCK_4K,
  BM_BYTES_PER_BIT,
  MAX_DEVICE_SECTORS,
  MD_4K_SECT,
  MD_RESERVED_SECT_07,
  MIN_DEVICE_BYTES,
  SECTOR_BYTES,
} from './constants.js';
import { MetaDataError } from './errors.js';

/** Where the meta-data of one volume is, as drbd.conf says it (`meta-disk`). */
/** Where the meta-data lives: drbd.conf's `meta-disk` as the configuration module models it. */
export type MetaDiskSpec = MetaDisk;

/** The meta-data kind, without paths. */
export type MetaKind = { kind: 'internal' } | { kind: 'indexed'; index: number } | { kind: 'flex-external' };

export function metaKindOf(spec: MetaDiskSpec): MetaKind {
  if (spec.kind === 'internal') return { kind: 'internal' };
  if (spec.kind === 'flexible') return { kind: 'flex-external' };
  return { kind: 'indexed', index: spec.index };
}

/** drbdmeta's spelling of the index argument: `internal`, `flex-external` or the slot number. */
export function metaIndexWord(kind: MetaKind): string {
  if (kind.kind === 'internal') return 'internal';
  if (kind.kind === 'flex-external') return 'flex-external';
  return String(kind.index);
}

export interface MetaLayout {
  kind: MetaKind;
  /** Size of the device holding the meta-data (bytes). */
  mdDeviceBytes: number;
  /** Superblock position (bytes from the start of the meta-data device). */
  mdOffsetBytes: number;
  /** md_size_sect field: sectors of the whole meta-data area. */
  mdSizeSect: number;
  /** al_offset field: sectors relative to the superblock (−64 internal, +8 external). */
  alOffsetSect: number;
  /** bm_offset field: sectors relative to the superblock. */
  bmOffsetSect: number;
  alStripes: number;
  alStripeSize4k: number;
  /** Absolute byte position of AL block 0 and of the bitmap. */
  alStartBytes: number;
  bmStartBytes: number;
  /** Bytes reserved for the bitmap on disk. */
  bmAreaBytes: number;
  /** Largest DRBD device (sectors) this meta-data can describe (drbdmeta's max_usable_sect). */
  maxUsableSect: number;
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/**
 * Bitmap bytes for a device of `sectors` sectors: one bit per 4 KiB, rounded up to 64-bit
 * words, then to whole 4 KiB blocks (meta-data I/O is done in 4 KiB blocks).
 */
export function bmBytesForSectors(sectors: number): number {
  const bits = alignUp(Math.ceil(sectors / (BM_BYTES_PER_BIT / SECTOR_BYTES)), 64);
  return alignUp(bits / 8, BLOCK_4K);
}

/** Bitmap bits that describe a DRBD device of `sectors` sectors. */
export function bmBitsForSectors(sectors: number): number {
  return Math.ceil(sectors / (BM_BYTES_PER_BIT / SECTOR_BYTES));
}

/**
 * Superblock position for the kind: internal = last 4 KiB-aligned 4 KiB block, indexed =
 * index × 128 MiB, flexible external = 0.
 */
export function mdOffsetFor(kind: MetaKind, mdDeviceBytes: number): number {
  switch (kind.kind) {
    case 'internal':
      return Math.floor((mdDeviceBytes - BLOCK_4K) / BLOCK_4K) * BLOCK_4K;
    case 'indexed':
      return kind.index * MD_RESERVED_SECT_07 * SECTOR_BYTES;
    case 'flex-external':
      return 0;
  }
}

export interface LayoutOptions {
  alStripes?: number;
  alStripeSize4k?: number;
  /** Device name for error messages. */
  deviceName?: string;
}

/** drbdmeta's checks before it looks at a device: at least 68 KiB, room for the superblock. */
export function checkDeviceSize(kind: MetaKind, mdDeviceBytes: number, deviceName = 'the device'): void {
  if (mdDeviceBytes < MIN_DEVICE_BYTES) {
    throw new MetaDataError(`${deviceName} is only ${mdDeviceBytes} bytes. That's not enough.`, 10);
  }
  const mdOffsetBytes = mdOffsetFor(kind, mdDeviceBytes);
  if (mdOffsetBytes > mdDeviceBytes - BLOCK_4K) {
    throw new MetaDataError(
      `Device too small: expecting meta data block at\nbyte offset ${mdOffsetBytes}, but ${deviceName} is only ${mdDeviceBytes} bytes.`,
      10,
    );
  }
}

/**
 * The layout create-md writes and attach expects, for a meta-data device of mdDeviceBytes.
 * Throws MetaDataError (drbdmeta's wording and exit code 10) when the device cannot hold it.
 */
export function computeLayout(kind: MetaKind, mdDeviceBytes: number, opts: LayoutOptions = {}): MetaLayout {
  const alStripes = opts.alStripes ?? AL_STRIPES_DEFAULT;
  const alStripeSize4k = opts.alStripeSize4k ?? AL_STRIPE_SIZE_4K_DEFAULT;
  const alSizeSect = alStripes * alStripeSize4k * 8;
  checkDeviceSize(kind, mdDeviceBytes, opts.deviceName);
  const sectors = Math.floor(mdDeviceBytes / SECTOR_BYTES);
  let mdSizeSect: number;
  let alOffsetSect: number;
  let bmOffsetSect: number;
  if (kind.kind === 'internal') {
    if (sectors > MAX_DEVICE_SECTORS) throw new MetaDataError('Bitmap for that device got too large.', 10);
    alOffsetSect = -alSizeSect;
    mdSizeSect = bmBytesForSectors(sectors) / SECTOR_BYTES + MD_4K_SECT + alSizeSect;
    bmOffsetSect = -mdSizeSect + MD_4K_SECT;
  } else {
    mdSizeSect = kind.kind === 'indexed' ? MD_RESERVED_SECT_07 : sectors;
    alOffsetSect = MD_4K_SECT;
    bmOffsetSect = MD_4K_SECT + alSizeSect;
  }
  return layoutFromFields(kind, mdDeviceBytes, { mdSizeSect, alOffsetSect, bmOffsetSect, alStripes, alStripeSize4k });
}

/** Layout as described by (validated) superblock fields; used when reading existing meta-data. */
export function layoutFromFields(
  kind: MetaKind,
  mdDeviceBytes: number,
  f: { mdSizeSect: number; alOffsetSect: number; bmOffsetSect: number; alStripes: number; alStripeSize4k: number },
): MetaLayout {
  const mdOffsetBytes = mdOffsetFor(kind, mdDeviceBytes);
  const alStartBytes = mdOffsetBytes + f.alOffsetSect * SECTOR_BYTES;
  const bmStartBytes = mdOffsetBytes + f.bmOffsetSect * SECTOR_BYTES;
  let bmAreaBytes: number;
  let maxUsableSect: number;
  if (kind.kind === 'internal') {
    // The bitmap ends where the AL starts; the DRBD device ends where the meta-data starts.
    bmAreaBytes = (f.alOffsetSect - f.bmOffsetSect) * SECTOR_BYTES;
    maxUsableSect = Math.min(mdOffsetBytes, alStartBytes, bmStartBytes) / SECTOR_BYTES;
  } else {
    // External: limited only by the bitmap space (each bitmap sector covers 4096 × 8 sectors).
    const bmSect = f.mdSizeSect - f.bmOffsetSect;
    bmAreaBytes = bmSect * SECTOR_BYTES;
    maxUsableSect = bmSect * SECTOR_BYTES * 8 * (BM_BYTES_PER_BIT / SECTOR_BYTES);
  }
  return {
    kind,
    mdDeviceBytes,
    mdOffsetBytes,
    mdSizeSect: f.mdSizeSect,
    alOffsetSect: f.alOffsetSect,
    bmOffsetSect: f.bmOffsetSect,
    alStripes: f.alStripes,
    alStripeSize4k: f.alStripeSize4k,
    alStartBytes,
    bmStartBytes,
    bmAreaBytes,
    maxUsableSect,
  };
}

/** Usable DRBD device size (sectors) for internal meta-data on a backing device of `bytes`. */
export function usableSectorsInternal(bytes: number): number {
  return computeLayout({ kind: 'internal' }, bytes).maxUsableSect;
}
