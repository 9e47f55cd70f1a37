// The offline meta-data tools — create-md, dump-md, get-gi, show-gi, dstate, apply-al —
// with drbdmeta 9.22's behaviour, output and exit codes. The device is reached only through
// the MetaIo interface (the engine supplies one over the native BackingStore), so this module
// stays free of I/O imports and can be tested against an in-memory device.
import { initializedAlArea, replayActivityLog } from './activity-log.js';
import { markExtentsInWindow } from './bitmap.js';
import {
  BLOCK_4K,
  BM_BYTES_PER_AL_EXTENT,
  BM_CHUNK_BYTES,
  MD_MAGIC_07,
  MD_MAGIC_08,
  MD_RESERVED_SECT_07,
  MIN_DEVICE_BYTES,
  SECTOR_BYTES,
} from './constants.js';
import { MDF } from '../state/attach.js';
import { clipLaSize, renderDumpMd, type DumpHeader } from './dump-md.js';
import { MetaDataError } from './errors.js';
import { dstateFromFlags, getGiText, ppsize, showGiText } from './gi.js';
import { bmBytesForSectors, checkDeviceSize, computeLayout, type MetaKind, type MetaLayout } from './layout.js';
import { decodeSuperblock, encodeSuperblock, freshSuperblock, isClean, magicName, validateSuperblock, type Superblock } from './superblock.js';

/** Positioned I/O on the device that holds the meta-data. */
export interface MetaIo {
  readonly sizeBytes: number;
  readAt(offset: number, length: number): Uint8Array;
  writeAt(offset: number, data: Uint8Array): void;
  flush(): void;
}

/** Where the tools print: stdout and stderr text, as drbdmeta splits them. */
export interface ToolOutput {
  out(text: string): void;
  err(text: string): void;
}

/**
 * Asks the user a yes/no question (drbdmeta's confirmed()): prints it, and resolves true
 * only for "yes" — or at once when --force was given, false when there is no terminal.
 */
export type Confirm = (question: string) => Promise<boolean>;

export interface MetaTarget {
  io: MetaIo;
  kind: MetaKind;
  /** The meta-data device as the user named it (messages). */
  deviceName: string;
}

export interface OpenedMeta {
  sb: Superblock;
  layout: MetaLayout;
  /** la_size_sect clipped to what the meta-data can describe. */
  laSizeSect: number;
  /** Printed (stdout) by drbdmeta when it had to clip la_size_sect. */
  clipNotice?: string;
  /** Bytes of bitmap in use for laSizeSect (4 KiB multiple). */
  bmBytes: number;
  clean: boolean;
}

/** Reads and validates existing v08 meta-data; MetaDataError("No valid meta data found", 1) otherwise. */
export function openMeta(t: MetaTarget): OpenedMeta {
  checkDeviceSize(t.kind, t.io.sizeBytes, t.deviceName);
  const probe = computeLayout(t.kind, t.io.sizeBytes, { deviceName: t.deviceName });
  const sb = decodeSuperblock(Buffer.from(t.io.readAt(probe.mdOffsetBytes, BLOCK_4K)));
  const layout = validateSuperblock(sb, t.kind, t.io.sizeBytes);
  const clip = clipLaSize(sb.laSizeSect, layout.maxUsableSect);
  return {
    sb,
    layout,
    laSizeSect: clip.laSizeSect,
    clipNotice: clip.notice,
    bmBytes: bmBytesForSectors(clip.laSizeSect),
    clean: isClean(sb),
  };
}

// ---- create-md -------------------------------------------------------------------------

/** A file system or other signature found at the start of the device (drbdmeta's guesses). */
export interface FoundData {
  type: string;
  /** Size the content claims, in bytes; 0 = unknown; 'refuse' = never overwrite (swap, LVM). */
  sizeBytes: number | 'refuse';
  /** The size could not be determined (LVM without pvs). */
  sizeUnknown?: boolean;
}

/**
 * Looks at the first 68 KiB of a device the way drbdmeta does before it writes meta-data:
 * undefined when all zero, else what it looks like ("some data" when nothing is recognised).
 */
export function detectExistingData(head: Uint8Array): FoundData | undefined {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.every((x) => x === 0)) return undefined;
  const str = (off: number, s: string): boolean => b.length >= off + s.length && b.toString('latin1', off, off + s.length) === s;
  if (['SWAP-SPACE', 'SWAPSPACE2'].some((m) => str(4096 - 10, m) || str(8192 - 10, m))) {
    return { type: 'swap space signature', sizeBytes: 'refuse' };
  }
  if (str(0x218, 'LVM2')) return { type: 'LVM2 physical volume signature', sizeBytes: 'refuse', sizeUnknown: true };
  if (b.readUInt16LE(0x438) === 0xef53) {
    // has_journal (feature_compat bit 2) tells ext3/4 from ext2; drbdmeta calls both "ext3".
    const type = (b[0x45c] & 4) === 4 ? 'ext3 filesystem' : 'ext2 filesystem';
    const blocks = b.readUInt32LE(0x404);
    const log = b.readUInt32LE(0x418);
    const bsize = log === 0 ? 1024 : log === 1 ? 2048 : 4096;
    return { type, sizeBytes: blocks * bsize };
  }
  if (b.readUInt32BE(0) === 0x58465342) {
    return { type: 'xfs filesystem', sizeBytes: b.readUInt32BE(4) * Number(b.readBigUInt64BE(8)) };
  }
  if (str(0x8000, 'JFS1')) {
    return { type: 'JFS filesystem', sizeBytes: Number(b.readBigUInt64LE(0x8008)) * b.readUInt32LE(0x8018) };
  }
  if (str(0x10034, 'ReIsErFs') || str(0x10034, 'ReIsEr2Fs')) {
    return { type: 'reiser filesystem', sizeBytes: b.readUInt32LE(0x10000) * b.readUInt16LE(0x1002c) };
  }
  return { type: 'some data', sizeBytes: 0 };
}

const REFUSE_TEXT =
  'If you want me to do this, you need to zero out the first part\nof the device (destroy the content).\nYou should be very sure that you mean it.\nOperation refused.\n\n';

/**
 * drbdmeta's check_for_existing_data: describe what is on the device and either refuse
 * (exit 40: data would be truncated or overwritten) or ask "Do you want to proceed?".
 */
async function checkForExistingData(t: MetaTarget, layout: MetaLayout, confirm: Confirm, o: ToolOutput): Promise<void> {
  const found = detectExistingData(t.io.readAt(0, MIN_DEVICE_BYTES));
  if (!found) return;
  o.out(`md_offset ${layout.mdOffsetBytes}\nal_offset ${layout.alStartBytes}\nbm_offset ${layout.bmStartBytes}\n`);
  o.out(`\nFound ${found.type}\n`);
  const maxUsableKiB = Math.floor(layout.maxUsableSect / 2);
  if (found.sizeBytes === 'refuse' || found.sizeBytes > 0) {
    if (t.kind.kind !== 'internal') {
      o.out('\nThis would corrupt existing data.\n' + REFUSE_TEXT);
      throw new MetaDataError('', 40);
    }
    if (found.sizeBytes === 'refuse') {
      o.out(`${String(maxUsableKiB).padStart(12)} kB left usable by current configuration\n`);
      if (found.sizeUnknown) o.out('Could not determine the size of the actually used data area.\n\n');
      o.out("Device size would be truncated, which\nwould corrupt data and result in\n'access beyond end of device' errors.\n" + REFUSE_TEXT);
      throw new MetaDataError('', 40);
    }
    const fsKiB = Math.ceil(found.sizeBytes / 1024);
    o.out(`${String(fsKiB).padStart(12)} kB data area apparently used\n`);
    o.out(`${String(maxUsableKiB).padStart(12)} kB left usable by current configuration\n`);
    if (fsKiB > maxUsableKiB) {
      o.out(
        "\nDevice size would be truncated, which\nwould corrupt data and result in\n'access beyond end of device' errors.\n" +
          'You need to either\n   * use external meta data (recommended)\n   * shrink that filesystem first\n' +
          '   * zero out the device (destroy the filesystem)\nOperation refused.\n\n',
      );
      throw new MetaDataError('', 40);
    }
    o.out('\nEven though it looks like this would place the new meta data into\nunused space, you still need to confirm, as this is only a guess.\n');
  } else {
    o.out('\n ==> This might destroy existing data! <==\n');
  }
  if (!(await confirm('Do you want to proceed?'))) {
    o.out('Operation canceled.\n');
    throw new MetaDataError('', 1);
  }
}

/** Existing meta-data where create-md is about to write: asks before it is overwritten. */
async function checkExistingMeta(t: MetaTarget, layout: MetaLayout, confirm: Confirm, o: ToolOutput): Promise<void> {
  const magicAt = (off: number): number => Buffer.from(t.io.readAt(off + 0x3c, 4)).readUInt32BE(0);
  let found: { version: string; offset: number; fixed: boolean } | undefined;
  const v = magicName(magicAt(layout.mdOffsetBytes));
  if (v) found = { version: v, offset: layout.mdOffsetBytes, fixed: false };
  if (!found && t.kind.kind === 'internal' && t.io.sizeBytes > MD_RESERVED_SECT_07 * SECTOR_BYTES) {
    // DRBD 0.7's fixed-size internal meta-data: 128 MiB from the end.
    const fixedOff = Math.floor(t.io.sizeBytes / BLOCK_4K) * BLOCK_4K - MD_RESERVED_SECT_07 * SECTOR_BYTES;
    if (magicAt(fixedOff) === MD_MAGIC_07) found = { version: 'v07', offset: fixedOff, fixed: true };
  }
  if (!found) return;
  if (t.kind.kind === 'internal') {
    o.err(
      'You want me to create a v08 style flexible-size internal meta data block.\n' +
        `There appears to be a ${found.version} ${found.fixed ? 'fixed-size' : 'flexible-size'} internal meta data block\n` +
        `already in place on ${t.deviceName} at byte offset ${found.offset}\n`,
    );
  }
  let ok: boolean;
  if (found.version === 'v08') {
    ok = await confirm(t.kind.kind === 'internal' ? 'Do you really want to overwrite the existing meta-data?' : 'Valid meta data seems to be in place.\nDo you really want to overwrite?');
  } else {
    // drbdmeta would offer a conversion first; udrbd only offers to replace.
    ok = await confirm(`So you want me to replace the ${found.version} meta-data\nwith newly initialized v08 meta-data?`);
  }
  if (!ok) {
    o.out('Operation cancelled.\n');
    throw new MetaDataError('', 1);
  }
}

export interface CreateMdOptions {
  confirm: Confirm;
  output: ToolOutput;
  /** la-peer-max-bio-size to record (drbdmeta --peer-max-bio-size); default 0. */
  peerMaxBioSize?: number;
}

/** Writes zeros over [offset, offset + length) in windows of at most 32 MiB. */
function writeZeros(io: MetaIo, offset: number, length: number): void {
  const zeros = Buffer.alloc(Math.min(length, BM_CHUNK_BYTES));
  for (let done = 0; done < length; done += zeros.length) {
    const n = Math.min(zeros.length, length - done);
    io.writeAt(offset + done, n === zeros.length ? zeros : zeros.subarray(0, n));
  }
}

/**
 * create-md: after the checks above, writes the initialized AL, a zeroed bitmap (for the
 * size of the meta-data device, as drbdmeta does) and the superblock — only the meta-data
 * area, never the data. Resolves to the exit code; MetaDataError for refusals.
 */
export async function createMd(t: MetaTarget, opts: CreateMdOptions): Promise<number> {
  const o = opts.output;
  const layout = computeLayout(t.kind, t.io.sizeBytes, { deviceName: t.deviceName });
  await checkExistingMeta(t, layout, opts.confirm, o);
  await checkForExistingData(t, layout, opts.confirm, o);
  o.out('initializing activity log\n');
  t.io.writeAt(layout.alStartBytes, initializedAlArea(layout.alStripes, layout.alStripeSize4k));
  const bmZero = Math.min(bmBytesForSectors(Math.floor(t.io.sizeBytes / SECTOR_BYTES)), layout.bmAreaBytes);
  o.err(`initializing bitmap (${Math.floor(bmZero / 1024)} KB) to all zero\n`);
  writeZeros(t.io, layout.bmStartBytes, bmZero);
  o.out('Writing meta data...\n');
  t.io.writeAt(layout.mdOffsetBytes, encodeSuperblock(freshSuperblock(layout, opts.peerMaxBioSize ?? 0)));
  t.io.flush();
  o.out('New drbd meta data block successfully created.\n');
  return 0;
}

// ---- dump-md, get-gi, show-gi, dstate --------------------------------------------------

export interface DumpMdOptions {
  output: ToolOutput;
  header: DumpHeader;
  /** Dump unclean meta-data anyway (drbdmeta --force). */
  force: boolean;
}

export function dumpMd(t: MetaTarget, opts: DumpMdOptions): number {
  const m = openMeta(t);
  const o = opts.output;
  if (m.clipNotice) o.out(m.clipNotice);
  if (!m.clean) {
    o.err('Found meta data is "unclean", please apply-al first\n');
    if (!opts.force) return 1;
  }
  renderDumpMd(
    {
      header: opts.header,
      sb: m.sb,
      layout: m.layout,
      laSizeSect: m.laSizeSect,
      bmBytes: m.bmBytes,
      clean: m.clean,
      readBitmap: (off, len) => t.io.readAt(m.layout.bmStartBytes + off, len),
    },
    o.out,
  );
  return 0;
}

export function getGi(t: MetaTarget, o: ToolOutput): number {
  const m = openMeta(t);
  if (m.clipNotice) o.out(m.clipNotice);
  o.out(getGiText(m.sb));
  return 0;
}

export function showGi(t: MetaTarget, o: ToolOutput): number {
  const m = openMeta(t);
  if (m.clipNotice) o.out(m.clipNotice);
  o.out(showGiText(m.sb, m.laSizeSect));
  return 0;
}

export function dstate(t: MetaTarget, o: ToolOutput): number {
  const m = openMeta(t);
  if (m.clipNotice) o.out(m.clipNotice);
  o.out(`${dstateFromFlags(m.sb.flags)}\n`);
  return 0;
}

// ---- apply-al --------------------------------------------------------------------------

/** Bitmap window read/modified/written at once while marking AL extents. */
const APPLY_WINDOW_BYTES = 1 << 20;

/**
 * Marks every hot extent out of sync in the on-disk bitmap (whole 4 MiB extents = 128
 * bitmap bytes each), one read-modify-write per window of nearby extents. `extents` is
 * ascending and may repeat an extent (one entry per AL slot): extents past the bitmap in use
 * are reported once per entry and skipped. Returns the number of newly set bits.
 */
export function markExtentsOnDisk(io: MetaIo, bmStartBytes: number, bmBytes: number, extents: number[], o: ToolOutput): number {
  let added = 0;
  const inRange: number[] = [];
  for (const e of extents) {
    const pos = e * BM_BYTES_PER_AL_EXTENT;
    if (pos >= bmBytes) o.err(`extent ${e} beyond end of bitmap! (${pos} >= ${bmBytes})\n`);
    else inRange.push(e);
  }
  let i = 0;
  while (i < inRange.length) {
    const start = Math.floor((inRange[i] * BM_BYTES_PER_AL_EXTENT) / BLOCK_4K) * BLOCK_4K;
    const limit = Math.min(start + APPLY_WINDOW_BYTES, bmBytes);
    const group: number[] = [];
    while (i < inRange.length && (inRange[i] + 1) * BM_BYTES_PER_AL_EXTENT <= limit) group.push(inRange[i++]);
    const end = Math.ceil(((group[group.length - 1] + 1) * BM_BYTES_PER_AL_EXTENT) / BLOCK_4K) * BLOCK_4K;
    const win = Buffer.from(io.readAt(bmStartBytes + start, end - start));
    added += markExtentsInWindow(win, start, group);
    io.writeAt(bmStartBytes + start, win);
  }
  return added;
}

/**
 * apply-al: if the node was Primary (PRIMARY_IND), replay the activity log and mark its
 * extents out of sync; re-initialize the AL; set AL_CLEAN and magic 08. Exit codes as
 * drbdmeta: 1 no AL at all / 2 no usable transaction (both only when it mattered).
 */
export function applyAl(t: MetaTarget, o: ToolOutput): number {
  const m = openMeta(t);
  if (m.clipNotice) o.out(m.clipNotice);
  const { sb, layout } = m;
  const alBytes = layout.alStripes * layout.alStripeSize4k * BLOCK_4K;
  const area = Buffer.from(t.io.readAt(layout.alStartBytes, alBytes));
  const replay = replayActivityLog(area, sb);
  for (const msg of replay.messages) o.err(`${msg}\n`);
  const wasPrimary = (sb.flags & MDF.PRIMARY_IND) !== 0;
  let reinit = replay.oldFormat || replay.status === 'replayed';
  let updateSb = false;
  if (replay.status === 'no-valid' || replay.status === 'no-updates') {
    if (wasPrimary) return replay.status === 'no-valid' ? 1 : 2;
    o.err('Error ignored, no need to apply the AL\n');
    reinit = true;
  }
  if (replay.status === 'replayed' && wasPrimary) {
    if (replay.slotExtents.length === 0) {
      o.err('Nothing to do.\n');
    } else {
      const added = markExtentsOnDisk(t.io, layout.bmStartBytes, m.bmBytes, replay.slotExtents, o);
      o.err(`Marked additional ${ppsize(added * 4)} as out-of-sync based on AL.\n`);
    }
    updateSb = true;
  }
  if (reinit) t.io.writeAt(layout.alStartBytes, initializedAlArea(layout.alStripes, layout.alStripeSize4k));
  if ((sb.flags & MDF.AL_CLEAN) === 0 || sb.magic !== MD_MAGIC_08) updateSb = true;
  if (updateSb) {
    // PRIMARY_IND stays: the kernel uses it to pick degr-wfc-timeout. la_size_sect is
    // written back clipped, as drbdmeta does.
    t.io.writeAt(layout.mdOffsetBytes, encodeSuperblock({ ...sb, laSizeSect: m.laSizeSect, flags: (sb.flags | MDF.AL_CLEAN) >>> 0, magic: MD_MAGIC_08 }));
  }
  t.io.flush();
  return 0;
}

// ---- invalidate / outdate --------------------------------------------------------------

/**
 * drbdmeta invalidate (spec/states.md §5, "drbdmeta fallback"): the whole device must be
 * resynced from the peer: FULL_SYNC set, CONSISTENT and WAS_UP_TO_DATE cleared.
 */
export function invalidate(t: MetaTarget, _o: ToolOutput): number {
  const m = openMeta(t);
  const flags = ((m.sb.flags | MDF.FULL_SYNC) & ~(MDF.CONSISTENT | MDF.WAS_UP_TO_DATE)) >>> 0;
  t.io.writeAt(m.layout.mdOffsetBytes, encodeSuperblock({ ...m.sb, flags }));
  t.io.flush();
  return 0;
}

/**
 * drbdmeta outdate: a consistent disk is marked Outdated (WAS_UP_TO_DATE cleared); an
 * inconsistent one cannot be ("Device is inconsistent.", exit 5).
 */
export function outdate(t: MetaTarget, o: ToolOutput): number {
  const m = openMeta(t);
  if ((m.sb.flags & MDF.CONSISTENT) === 0) {
    o.err('Device is inconsistent.\n');
    return 5;
  }
  const flags = (m.sb.flags & ~MDF.WAS_UP_TO_DATE) >>> 0;
  if (flags !== m.sb.flags) {
    t.io.writeAt(m.layout.mdOffsetBytes, encodeSuperblock({ ...m.sb, flags }));
    t.io.flush();
  }
  return 0;
}
