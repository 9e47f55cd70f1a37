// v08 meta-data on a real device: the I/O half of src/meta. Reads and writes the superblock,
// the activity log and the bitmap through the native BackingStore, in whole blocks and
// large windows (never one access per bit). Used by the offline tools (create-md, dump-md,
// apply-al, get-gi, show-gi) and by the daemon on attach.
import { native, type NativeBackingStore } from './native.js';
import { alBlockForTransaction, encodeAlTransaction, replayActivityLog, type AlReplayResult, type AlTransaction } from '../meta/activity-log.js';
import { BLOCK_4K } from '../meta/constants.js';
import { MetaDataError } from '../meta/errors.js';
import { bmBytesForSectors, metaKindOf, type MetaDiskSpec, type MetaKind, type MetaLayout } from '../meta/layout.js';
import { encodeSuperblock, isClean, type Superblock, type UuidSet } from '../meta/superblock.js';
import { openMeta, type MetaIo, type MetaTarget } from '../meta/tools.js';

/** One volume's backing disk and meta-data, as the configuration describes it. */
export interface VolumeMetaSpec {
  minor: number;
  /** Backing (data) device or file. */
  diskPath: string;
  metaDisk: MetaDiskSpec;
}

/** The device that holds the meta-data: the data disk itself for internal meta-data. */
export function metaDevicePath(spec: VolumeMetaSpec): string {
  return spec.metaDisk.kind === 'internal' ? spec.diskPath : spec.metaDisk.path;
}

/** A MetaIo over an open BackingStore. */
class BackingStoreIo implements MetaIo {
  constructor(private readonly bs: NativeBackingStore) {}
  get sizeBytes(): number {
    return this.bs.sizeBytes;
  }
  readAt(offset: number, length: number): Buffer {
    return this.bs.readAt(offset, length);
  }
  writeAt(offset: number, data: Uint8Array): void {
    this.bs.writeAt(offset, Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }
  flush(): void {
    this.bs.flush();
  }
}

export interface OpenOptions {
  /** Open read-write (default true). */
  writable?: boolean;
  /**
   * Claim a block device exclusively (O_EXCL: fails while mounted or attached elsewhere).
   * Default: when writable.
   */
  exclusive?: boolean;
}

/** An open meta-data device for the offline tools; close() when done. */
export interface OpenedTarget {
  target: MetaTarget;
  close(): void;
}

/** Opens the meta-data device of a volume; errors become MetaDataError (exit 20, like drbdmeta's open). */
export function openMetaTarget(spec: VolumeMetaSpec, opts: OpenOptions = {}): OpenedTarget {
  const path = metaDevicePath(spec);
  const writable = opts.writable ?? true;
  let bs: NativeBackingStore;
  try {
    bs = new (native().BackingStore)(path, writable, opts.exclusive ?? writable);
  } catch (e) {
    throw new MetaDataError((e as Error).message, 20);
  }
  return { target: { io: new BackingStoreIo(bs), kind: metaKindOf(spec.metaDisk), deviceName: path }, close: () => bs.close() };
}

/**
 * Existing, valid v08 meta-data of one volume, held open. The daemon's view: superblock
 * fields, UUIDs and flags, the bitmap area and AL transactions.
 */
export class MetaDataStore {
  private constructor(
    private readonly opened: OpenedTarget,
    readonly layout: MetaLayout,
  ) {}

  /** Opens and validates; MetaDataError("No valid meta data found", 1) etc. when there is none. */
  static open(spec: VolumeMetaSpec, opts: OpenOptions = {}): MetaDataStore {
    const opened = openMetaTarget(spec, opts);
    try {
      const m = openMeta(opened.target);
      return new MetaDataStore(opened, m.layout);
    } catch (e) {
      opened.close();
      throw e;
    }
  }

  get kind(): MetaKind {
    return this.opened.target.kind;
  }

  private get io(): MetaIo {
    return this.opened.target.io;
  }

  /** Reads and validates the superblock. */
  readSuperblock(): Superblock {
    return openMeta(this.opened.target).sb;
  }

  /** True when the meta-data is clean (magic 08 with AL_CLEAN): attach may proceed without apply-al. */
  isClean(): boolean {
    return isClean(this.readSuperblock());
  }

  /** Writes the superblock (4 KiB) and flushes. The layout fields must stay as they are. */
  writeSuperblock(sb: Superblock): void {
    if (sb.mdSizeSect !== this.layout.mdSizeSect || sb.alOffsetSect !== this.layout.alOffsetSect || sb.bmOffsetSect !== this.layout.bmOffsetSect) {
      throw new Error('writeSuperblock: layout fields differ from the meta-data on disk');
    }
    this.io.writeAt(this.layout.mdOffsetBytes, encodeSuperblock(sb));
    this.io.flush();
  }

  readUuids(): UuidSet {
    return this.readSuperblock().uuids;
  }

  writeUuids(uuids: UuidSet): void {
    this.writeSuperblock({ ...this.readSuperblock(), uuids });
  }

  readFlags(): number {
    return this.readSuperblock().flags;
  }

  /** Writes the MDF_* flags and the magic in one superblock write. */
  writeFlags(flags: number, magic?: number): void {
    const sb = this.readSuperblock();
    this.writeSuperblock({ ...sb, flags: flags >>> 0, magic: magic ?? sb.magic });
  }

  /** Bitmap bytes in use for a DRBD device of sizeSect sectors. */
  bitmapBytesFor(sizeSect: number): number {
    return bmBytesForSectors(sizeSect);
  }

  private checkBitmapRange(offset: number, length: number): void {
    if (offset < 0 || length < 0 || offset + length > this.layout.bmAreaBytes) {
      throw new RangeError(`bitmap range ${offset}+${length} outside the bitmap area (${this.layout.bmAreaBytes} bytes)`);
    }
  }

  /** Reads bitmap bytes [offset, offset + length) (default: the whole area) in one access. */
  readBitmap(offset = 0, length = this.layout.bmAreaBytes - offset): Buffer {
    this.checkBitmapRange(offset, length);
    return Buffer.from(this.io.readAt(this.layout.bmStartBytes + offset, length));
  }

  /** Writes bitmap bytes at offset (a page or a whole window at once) and flushes. */
  writeBitmap(offset: number, data: Uint8Array): void {
    this.checkBitmapRange(offset, data.length);
    this.io.writeAt(this.layout.bmStartBytes + offset, data);
    this.io.flush();
  }

  /** The raw AL area (stripes × size × 4 KiB). */
  readActivityLog(): Buffer {
    return Buffer.from(this.io.readAt(this.layout.alStartBytes, this.layout.alStripes * this.layout.alStripeSize4k * BLOCK_4K));
  }

  /** Writes one AL transaction into its ring block (by transaction number) and flushes. */
  writeAlTransaction(tr: AlTransaction): void {
    const block = alBlockForTransaction(tr.trNumber, this.layout.alStripes, this.layout.alStripeSize4k);
    this.io.writeAt(this.layout.alStartBytes + block * BLOCK_4K, encodeAlTransaction(tr));
    this.io.flush();
  }

  /** The active extent set recorded in the AL (no bitmap change). */
  replayActivityLog(): AlReplayResult {
    return replayActivityLog(this.readActivityLog(), this.readSuperblock());
  }

  flush(): void {
    this.io.flush();
  }

  close(): void {
    this.opened.close();
  }
}
