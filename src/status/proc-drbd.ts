// The status file: the exact text DRBD 8.4 prints in /proc/drbd (spec/proc-drbd.md). A pure
// function of its input — the daemon gathers the numbers, injects the time, and writes the file.

import { asI32, asU32, groupThousands, padLeft } from './format.js';
import { type ConnStateName, type DiskStateName, type RoleName, isRequestingSide, isVerify, showsProgress } from './names.js';
import { type SyncFigures, type SyncProgressInput, formatHms, syncFigures } from './progress.js';

/** Line 2 of the header. The kernel's text is a constant per module build (spec §1). */
export type BuildTag =
  /** out-of-tree module built from git: `GIT-hash: <hash>[ <modified files>] build by <user>@<host>, <date>` */
  | { kind: 'git'; hash: string; modifiedFiles?: readonly string[]; user: string; host: string; date: string }
  /** in-tree (mainline) module: `srcversion: ` + srcversion left-justified in 24 columns */
  | { kind: 'srcversion'; srcversion: string }
  /** in-tree, built into the kernel */
  | { kind: 'built-in' };

export interface ProcDrbdHeader {
  /** REL_VERSION, e.g. `8.4.7-1` */
  version: string;
  api: number;
  protoMin: number;
  protoMax: number;
  buildTag: BuildTag;
}

/**
 * udrbd's header. The spec recommends the GIT-hash form with a fixed tag: it is what an
 * out-of-tree 8.4.7 module prints, so scripts that parse the first two lines see a familiar
 * shape. The hash is that of the drbd-8.4.7 tag; user/host/date are constants of this
 * implementation (not the build machine), so the file does not change between builds.
 */
export const UDRBD_PROC_HEADER: ProcDrbdHeader = {
  version: '8.4.7-1',
  api: 1,
  protoMin: 86,
  protoMax: 101,
  buildTag: {
    kind: 'git',
    hash: '3a6a769340ef93b1ba2792c6461250790795db49',
    user: 'root',
    host: 'udrbd',
    date: '2016-01-12 10:00:00',
  },
};

export type CongestionChar = '-' | 'd' | 'c' | 'b' | 'n' | 'a';
export type WriteOrderingChar = 'b' | 'f' | 'd' | 'n';

export interface ProcDeviceFlags {
  /** I/O suspended (user suspend-io, no-data or fencing): `s`, else `r` */
  susp: boolean;
  /** resync paused by a resync-after dependency: `a` */
  aftrIsp: boolean;
  /** the peer paused the resync: `p` */
  peerIsp: boolean;
  /** the user paused the resync (pause-sync): `u` */
  userIsp: boolean;
  /** congestion reason, computed at read time */
  congestion: CongestionChar;
  /** activity-log updates suspended: `s` */
  alSuspended: boolean;
}

export interface ProcDeviceCounters {
  /** KiB sent to the peer; printed like the kernel's 32-bit sector counter (wraps at 2 TiB) */
  ns: number;
  /** KiB received from the peer (same wrap) */
  nr: number;
  /** KiB written to the backing device (same wrap) */
  dw: number;
  /** KiB read from the backing device (same wrap) */
  dr: number;
  /** activity-log transactions (unsigned 32-bit) */
  al: number;
  /** bitmap writes; 0 in 8.4.7 (unsigned 32-bit) */
  bm: number;
  /** signed 32-bit counts */
  lo: number;
  pe: number;
  ua: number;
  ap: number;
  ep: number;
  wo: WriteOrderingChar;
  /** out-of-sync KiB (set bits × 4) */
  oos: number;
}

export interface ProcDevice {
  minor: number;
  cs: ConnStateName;
  ro: RoleName;
  peerRo: RoleName;
  ds: DiskStateName;
  pds: DiskStateName;
  /** wire protocol from the net config; null when there is none (printed as a space) */
  protocol: 'A' | 'B' | 'C' | null;
  flags: ProcDeviceFlags;
  counters: ProcDeviceCounters;
  /**
   * Resync/verify progress. Required when cs is SyncSource, SyncTarget, VerifyS or VerifyT (the
   * states that print the two progress lines; `verified:` vs `sync'ed:` and `want:` follow from
   * cs); ignored in every other state.
   */
  sync?: SyncProgressInput;
}

export interface ProcDrbdInput {
  header: ProcDrbdHeader;
  devices: readonly ProcDevice[];
}

export function renderHeader(h: ProcDrbdHeader): string {
  return `version: ${h.version} (api:${h.api}/proto:${h.protoMin}-${h.protoMax})\n${renderBuildTag(h.buildTag)}\n`;
}

function renderBuildTag(t: BuildTag): string {
  switch (t.kind) {
    case 'git': {
      const modified = t.modifiedFiles && t.modifiedFiles.length > 0 ? ` ${t.modifiedFiles.join(' ')}` : '';
      return `GIT-hash: ${t.hash}${modified} build by ${t.user}@${t.host}, ${t.date}`;
    }
    case 'srcversion':
      return `srcversion: ${t.srcversion.padEnd(24, ' ')}`;
    case 'built-in':
      return 'built-in';
  }
}

/** Kernel rule: StandAlone + Diskless + Secondary is shown as an unconfigured minor. */
export function isUnconfigured(d: Pick<ProcDevice, 'cs' | 'ds' | 'ro'>): boolean {
  return d.cs === 'StandAlone' && d.ds === 'Diskless' && d.ro === 'Secondary';
}

function stateLine(d: ProcDevice): string {
  const f = d.flags;
  const flags =
    (f.susp ? 's' : 'r') +
    (f.aftrIsp ? 'a' : '-') +
    (f.peerIsp ? 'p' : '-') +
    (f.userIsp ? 'u' : '-') +
    f.congestion +
    (f.alSuspended ? 's' : '-');
  return `${padLeft(d.minor, 2)}: cs:${d.cs} ro:${d.ro}/${d.peerRo} ds:${d.ds}/${d.pds} ${d.protocol ?? ' '} ${flags}\n`;
}

function counterLine(c: ProcDeviceCounters): string {
  // ns/nr/dw/dr are kept by the kernel as 32-bit sector counts and printed halved.
  const kib = (v: number): number => Math.floor(asU32(Math.floor(v) * 2) / 2);
  return (
    `    ns:${kib(c.ns)} nr:${kib(c.nr)} dw:${kib(c.dw)} dr:${kib(c.dr)} al:${asU32(c.al)} bm:${asU32(c.bm)}` +
    ` lo:${asI32(c.lo)} pe:${asI32(c.pe)} ua:${asI32(c.ua)} ap:${asI32(c.ap)} ep:${asI32(c.ep)} wo:${c.wo} oos:${c.oos}\n`
  );
}

/** `[` + (x−1) `=` + `>` + (20−x) `.` + `]` with x = per-mille/50; x = 0 gives `>` and 20 dots. */
export function progressBar20(perMille: number): string {
  const x = Math.floor(perMille / 50);
  return `[${'='.repeat(Math.max(0, x - 1))}>${'.'.repeat(Math.max(0, 20 - x))}]`;
}

function progressLines(cs: ConnStateName, fig: SyncFigures, wantKiBps: number): string {
  const pm = fig.perMille;
  const label = isVerify(cs) ? 'verified:' : "sync'ed:";
  // Above 4 GiB (1048576 bits) the sizes switch to MiB: (bits >> 10) × 4.
  const sizes =
    fig.totalBits > 1048576
      ? `(${Math.floor(fig.leftBits / 1024) * 4}/${Math.floor(fig.totalBits / 1024) * 4})M`
      : `(${fig.leftBits * 4}/${fig.totalBits * 4})K`;
  const bar = `\t${progressBar20(pm)} ${label}${padLeft(Math.floor(pm / 10), 3)}.${pm % 10}% ${sizes}\n`;
  const want = isRequestingSide(cs) ? ` want: ${groupThousands(wantKiBps)}` : '';
  const speed =
    `\tfinish: ${formatHms(fig.finishSeconds)} speed: ${groupThousands(fig.speedKiBps)} (${groupThousands(fig.averageKiBps)})` +
    `${want} K/sec${fig.stalled ? ' (stalled)' : ''}\n`;
  return bar + speed;
}

/** The lines of one minor (no leading blank line). */
export function renderProcDevice(d: ProcDevice): string {
  if (isUnconfigured(d)) return `${padLeft(d.minor, 2)}: cs:Unconfigured\n`;
  let out = stateLine(d) + counterLine(d.counters);
  if (showsProgress(d.cs)) {
    if (!d.sync) throw new TypeError(`minor ${d.minor}: cs:${d.cs} needs sync progress input`);
    out += progressLines(d.cs, syncFigures(d.sync), d.sync.wantKiBps);
  }
  return out;
}

/**
 * The whole /proc/drbd text. Devices are listed in ascending minor order whatever the input order;
 * a blank line precedes a device whose minor does not directly follow the previous one (the first
 * device follows minor −1).
 */
export function renderProcDrbd(input: ProcDrbdInput): string {
  const devices = [...input.devices].sort((a, b) => a.minor - b.minor);
  let out = renderHeader(input.header);
  let prev = -1;
  for (const d of devices) {
    if (!Number.isInteger(d.minor) || d.minor < 0) throw new RangeError(`bad minor ${d.minor}`);
    if (d.minor === prev) throw new RangeError(`minor ${d.minor} listed twice`);
    if (d.minor !== prev + 1) out += '\n';
    prev = d.minor;
    out += renderProcDevice(d);
  }
  return out;
}
