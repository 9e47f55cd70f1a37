// get-gi / show-gi / dstate text of drbdmeta 9.22 for v08 meta-data (spec/states.md §5). Pure.
import { MDF } from '../state/attach.js';
import { formatUuid } from '../state/uuids.js';
import type { Superblock, UuidSet } from './superblock.js';

/** `CUR:BM:H1:H2:c:u:p:n:f:o:x` — UUIDs as %016llX, then seven flag digits. */
export function formatGi(uuids: UuidSet, flags: number): string {
  const bit = (m: number): string => ((flags & m) !== 0 ? '1' : '0');
  return [
    formatUuid(uuids.current),
    formatUuid(uuids.bitmap),
    formatUuid(uuids.history[0]),
    formatUuid(uuids.history[1]),
    bit(MDF.CONSISTENT),
    bit(MDF.WAS_UP_TO_DATE),
    bit(MDF.PRIMARY_IND),
    bit(MDF.CONNECTED_IND),
    bit(MDF.FULL_SYNC),
    bit(MDF.PEER_OUT_DATED),
    bit(MDF.CRASHED_PRIMARY),
  ].join(':');
}

/** stdout of `drbdmeta … get-gi`. */
export function getGiText(sb: Superblock): string {
  return `${formatGi(sb.uuids, sb.flags)}\n`;
}

// The legend around the get-gi line, as drbdmeta prints it (captured from drbdmeta 9.22).
const LEGEND_TOP = [
  '',
  '       +--<  Current data generation UUID  >-',
  '       |               +--<  Bitmap\'s base data generation UUID  >-',
  '       |               |                 +--<  younger history UUID  >-',
  '       |               |                 |         +-<  older history  >-',
  '       V               V                 V         V',
];
const LEGEND_BOTTOM = [
  '                                                                    ^ ^ ^ ^ ^ ^ ^',
  '                                      -<  Data consistency flag  >--+ | | | | | |',
  '                             -<  Data was/is currently up-to-date  >--+ | | | | |',
  '                                  -<  Node was/is currently primary  >--+ | | | |',
  '                                  -<  Node was/is currently connected  >--+ | | |',
  '         -<  Node was in the progress of setting all bits in the bitmap  >--+ | |',
  '                        -<  The peer\'s disk was out-dated or inconsistent  >--+ |',
  '      -<  This node was a crashed primary, and has not seen its peer since   >--+',
  '',
];

/** Sizes in KiB the way DRBD prints them: switch unit while ≥ 10000, rounding half up. */
export function ppsize(kib: number): string {
  const units = ['K', 'M', 'G', 'T', 'P', 'E'];
  let size = BigInt(kib);
  let base = 0;
  while (size >= 10000n && base < units.length - 1) {
    size = (size >> 10n) + ((size & 512n) !== 0n ? 1n : 0n);
    base++;
  }
  return `${size} ${units[base]}B`;
}

/** The one-line summary show-gi prints below the legend. */
export function flagsSummary(flags: number): string {
  const f = (m: number): boolean => (flags & m) !== 0;
  const disk = f(MDF.CONSISTENT) ? (f(MDF.WAS_UP_TO_DATE) ? 'UpToDate' : 'Outdated') : 'Inconsistent';
  return (
    `flags:${f(MDF.CRASHED_PRIMARY) ? ' crashed' : ''} ${f(MDF.PRIMARY_IND) ? 'Primary' : 'Secondary'}, ` +
    `${f(MDF.CONNECTED_IND) ? 'Connected' : 'StandAlone'}, ${disk}` +
    `${f(MDF.FULL_SYNC) ? ', need full sync' : ''}${f(MDF.PEER_OUT_DATED) ? ', peer Outdated' : ''}`
  );
}

/** stdout of `drbdmeta … show-gi`; laSizeSect is the (clipped) last agreed size. */
export function showGiText(sb: Superblock, laSizeSect = sb.laSizeSect): string {
  const lines = [...LEGEND_TOP, formatGi(sb.uuids, sb.flags), ...LEGEND_BOTTOM];
  lines.push(flagsSummary(sb.flags));
  lines.push(`meta-data: ${(sb.flags & MDF.AL_CLEAN) !== 0 ? 'clean' : 'need apply-al'}`);
  if (laSizeSect) {
    lines.push(`last agreed size: ${ppsize(Math.floor(laSizeSect / 2))} (${laSizeSect} sectors)`);
    lines.push(`last agreed max bio size: ${sb.laPeerMaxBioSize} Byte`);
  } else {
    lines.push('zero size device -- never seen peer yet?');
  }
  return lines.join('\n') + '\n';
}

/** The disk state word `drbdmeta … dstate` derives from the flags. */
export function dstateFromFlags(flags: number): 'Inconsistent' | 'Outdated' | 'Consistent' | 'UpToDate' {
  if ((flags & MDF.CONSISTENT) === 0) return 'Inconsistent';
  if ((flags & MDF.WAS_UP_TO_DATE) === 0) return 'Outdated';
  return (flags & MDF.PEER_OUT_DATED) !== 0 ? 'UpToDate' : 'Consistent';
}
