// The text of `drbdmeta … dump-md` for v08 meta-data, as drbd-utils 9.22 prints it
// (spec/metadata-v08.md §6), including the run-length form of the bitmap. Pure: the bitmap
// comes from a read callback, the text goes to a sink.
import { BM_CHUNK_BYTES } from './constants.js';
import { popcount32 } from './bitmap.js';
import type { MetaLayout } from './layout.js';
import type { Superblock } from './superblock.js';
import { formatUuid } from '../state/uuids.js';

export interface DumpHeader {
  /** Time of the dump (printed in local time, like strftime "%F %T %z [%s]"). */
  now: Date;
  hostname: string;
  /** The command line as typed, e.g. `drbdadm dump-md r0`. */
  commandLine: string;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** strftime("%F %T %z [%s]") in local time. */
export function formatDumpTime(d: Date): string {
  const offMin = -d.getTimezoneOffset();
  const sign = offMin < 0 ? '-' : '+';
  const abs = Math.abs(offMin);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ` +
    `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)} [${Math.floor(d.getTime() / 1000)}]`
  );
}

/** The first lines of a dump: three comment lines with title, time and command, then `#`. */
export function dumpHeaderText(h: DumpHeader): string {
  return `# DRBD meta data dump\n# ${formatDumpTime(h.now)}\n# ${h.hostname}> ${h.commandLine}\n#\n\n`;
}

const hex8 = (v: number): string => (v >>> 0).toString(16).toUpperCase().padStart(8, '0');

export interface DumpMdInput {
  header: DumpHeader;
  sb: Superblock;
  layout: MetaLayout;
  /** la-size-sect after clipping to the usable size (see clipLaSize). */
  laSizeSect: number;
  /** Bytes of bitmap dumped: bmBytesForSectors(laSizeSect). */
  bmBytes: number;
  /** False when the meta-data is unclean (only dumped with --force). */
  clean: boolean;
  /** Reads `length` bitmap bytes starting `offset` bytes into the bitmap. */
  readBitmap(offset: number, length: number): Uint8Array;
  /** Window size used to read the bitmap; the run-length output depends on it. */
  chunkBytes?: number;
}

/** Writes the dump (everything after the clip notice) to `out`; returns the bits-set count. */
export function renderDumpMd(input: DumpMdInput, out: (text: string) => void): number {
  const { sb, layout } = input;
  let s = dumpHeaderText(input.header);
  s += 'version "v08";\n\n';
  if (!input.clean) {
    // Makes restore-md fail on purpose: an unclean bitmap must not be restored.
    s += 'This_is_an_unclean_meta_data_dump._Don\'t_trust_the_bitmap.\n# You should "apply-al" first, if you plan to restore this.\n\n';
  }
  s += `# md_size_sect ${sb.mdSizeSect}\n`;
  s += `# md_offset ${layout.mdOffsetBytes}\n# al_offset ${layout.alStartBytes}\n# bm_offset ${layout.bmStartBytes}\n\n`;
  s += 'uuid {\n';
  s += `    0x${formatUuid(sb.uuids.current)}; 0x${formatUuid(sb.uuids.bitmap)}; 0x${formatUuid(sb.uuids.history[0])}; 0x${formatUuid(sb.uuids.history[1])};\n`;
  // drbd-utils 9.x prints a per-peer flags word here that v08 never fills: always 0.
  s += '    flags 0x00000000;\n}\n';
  s += `# al-extents ${sb.alNrExtents};\n`;
  s += `la-size-sect ${input.laSizeSect};\n`;
  s += `bm-byte-per-bit ${sb.bmBytesPerBit};\n`;
  s += `device-uuid 0x${formatUuid(sb.deviceUuid)};\n`;
  s += `la-peer-max-bio-size ${sb.laPeerMaxBioSize | 0};\n`;
  s += `al-stripes ${sb.alStripes};\nal-stripe-size-4k ${sb.alStripeSize4k};\n`;
  s += `# bm-bytes ${input.bmBytes};\n`;
  s += 'bm ';
  out(s);
  const bits = renderBitmap(input.bmBytes, input.readBitmap, out, input.chunkBytes ?? BM_CHUNK_BYTES);
  out(`# bits-set ${bits};\n`);
  return bits;
}

/**
 * The `{ … }` block of the bitmap. The bitmap is read as 32-bit little-endian words, shown
 * as 64-bit values (high word first), four per line; a `# at NkB` line precedes every line
 * that starts at a multiple of 8 MiB of data. At each line start, a run of identical 32-bit
 * words spanning at least two whole lines is shown as `N times 0x…;` (N 64-bit words, the
 * 32-bit word printed twice) for the whole lines it covers. Runs are looked for within one
 * read window; a run reaching the window's end continues into the next window only while
 * it still covers two whole lines there, otherwise the count so far is printed and the rest
 * shows as plain words (the output of drbdmeta, which reads the bitmap in 32 MiB windows).
 */
export function renderBitmap(
  bmBytes: number,
  readBitmap: (offset: number, length: number) => Uint8Array,
  out: (text: string) => void,
  chunkBytes: number = BM_CHUNK_BYTES,
): number {
  const WPL = 8; // 32-bit words per line
  const n = bmBytes / 4;
  const chunkWords = chunkBytes / 4;
  let parts: string[] = ['{'];
  let partsLen = 0;
  const emit = (t: string): void => {
    parts.push(t);
    partsLen += t.length;
    if (partsLen > 1 << 16) {
      out(parts.join(''));
      parts = [];
      partsLen = 0;
    }
  };
  let view: DataView | undefined;
  let chunkStart = 0;
  let chunkEnd = 0;
  const load = (r: number): void => {
    chunkStart = r;
    chunkEnd = Math.min(r + chunkWords, n);
    const buf = readBitmap(chunkStart * 4, (chunkEnd - chunkStart) * 4);
    view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  };
  const word = (r: number): number => view!.getUint32((r - chunkStart) * 4, true);

  let bits = 0;
  let pending = 0; // 32-bit words of the current run not yet printed
  let runWord = 0;
  let low = 0;
  let r = 0;
  while (r < n) {
    if (r >= chunkEnd) load(r);
    if (r % WPL === 0) {
      if (pending === 0) {
        runWord = word(r);
        emit(r % 64 === 0 ? `\n   # at ${128 * r}kB\n   ` : '\n   ');
      }
      let j = r;
      while (j < chunkEnd && word(j) === runWord) j++;
      const whole = Math.floor((j - r) / WPL) * WPL;
      if (whole > WPL) {
        pending += whole;
        r += whole;
        if (j >= chunkEnd && r < n) continue; // the run may go on in the next window
      }
      if (pending > 0) {
        emit(` ${pending / 2} times 0x${hex8(runWord)}${hex8(runWord)};`);
        bits += pending * popcount32(runWord);
        pending = 0;
        if (r >= n) break;
        continue; // look at this line start afresh
      }
    }
    const w = word(r);
    if (r % 2 === 0) low = w;
    else emit(` 0x${hex8(w)}${hex8(low)};`);
    bits += popcount32(w);
    r++;
  }
  emit('\n}\n');
  out(parts.join(''));
  return bits;
}

/** drbdmeta clips a last-agreed size larger than the meta-data can describe (printed before the dump). */
export function clipLaSize(laSizeSect: number, maxUsableSect: number): { laSizeSect: number; notice?: string } {
  if (laSizeSect > maxUsableSect) {
    return { laSizeSect: maxUsableSect, notice: `# la-size-sect was too big (${laSizeSect}), truncated (${maxUsableSect})!\n` };
  }
  return { laSizeSect };
}
