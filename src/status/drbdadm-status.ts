// `drbdadm status` for DRBD 8.4, as drbd-utils 9.22 prints it.
//
// Source of the format: drbd-utils 9.22's drbdadm-84 runs `drbdsetup-84 status <res>`, whose
// status command (user/v84/drbdsetup.c in drbd-utils, read for its facts; no code taken) prints
// DRBD 9 style text from the 8.4 kernel's netlink dumps. Confirmed against
// spec/kernel-captures/initial-sync-04-connected.txt (`drbdsetup status r0` on 8.4.11) and the
// format strings in /lib/drbd/drbdsetup-84 (` role:%s%s%s`, ` disk:%s%s%s`,
// ` replication:%s%s%s`, ` peer-disk:%s%s%s`, ` done:%.2f`, ...). The line-wrapping rules were
// read from the 9.22 binary's wrap_printf (disassembly): an item that would end past the
// terminal width (80 when stdout is not a terminal) starts a new line at the item's indent.
//
//   <res> role:<role>[ suspended:user,no-data,fencing]
//     [volume:<n> ]disk:<disk>[ blocked:upper,lower]          one line per volume
//     peer connection:<StandAlone|Connecting|...>[ congested:yes]     before WFReportParams
//     peer role:<peer role>[ congested:yes]                           from WFReportParams on
//       [volume:<n> ][replication:<Established|SyncSource|...> ]peer-disk:<pdisk>[ done:%.2f][ resync-suspended:...]
//   <blank line>
//
// 8.4 mapping (kernel drbd_nl.c): a resource has a peer section only while it has a net config;
// the connection's state is the device state up to WFReportParams and stays WFReportParams once a
// volume is Connected or beyond; a peer device's replication state is the device state, at least
// WFReportParams (printed as "Off", Connected as "Established").

import { ConnState } from '../state/enums.js';
import { printfFixed2 } from './format.js';
import {
  type ConnStateName,
  type DiskStateName,
  type RoleName,
  connState,
  isSyncState,
} from './names.js';

export interface DrbdadmStatusVolume {
  volume: number;
  minor: number;
  disk: DiskStateName;
  /** application I/O cannot enter (I/O suspended): ` blocked:upper` */
  upperBlocked?: boolean;
  /** backing device congested: ` blocked:lower` */
  lowerBlocked?: boolean;
  /** this volume's connection state (what /proc/drbd shows as cs:) */
  cs: ConnStateName;
  peerDisk: DiskStateName;
  userIsp: boolean;
  peerIsp: boolean;
  aftrIsp: boolean;
  /** device size in 512-byte sectors (for done:) */
  sizeSectors: number;
  /** out-of-sync sectors = set bits × 8 (for done:) */
  oosSectors: number;
}

export interface DrbdadmStatusResource {
  name: string;
  role: RoleName;
  suspended: { user: boolean; noData: boolean; fencing: boolean };
  volumes: readonly DrbdadmStatusVolume[];
  /** null when the resource has no net config (never connected, or StandAlone after disconnect) */
  connection: { cs: ConnStateName; peerRole: RoleName; congested: boolean } | null;
}

export interface DrbdadmStatusOptions {
  /** ANSI colours as drbdsetup's --color=always; default false (what a pipe gets) */
  color?: boolean;
  /** terminal width; 80 when stdout is not a terminal (drbdsetup's fallback) */
  columns?: number;
}

// ---- colours (drbdsetup_colors.c): local items are bold, peer items plain -------------------

type ColorClass = 'transitional' | 'normal' | 'primary' | 'good' | 'bad';
const LOCAL_CODES: Record<ColorClass, string | null> = {
  transitional: '\x1b[1m',
  normal: null,
  primary: '\x1b[1;36m',
  good: '\x1b[1;32m',
  bad: '\x1b[1;31m',
};
const PEER_CODES: Record<ColorClass, string | null> = {
  transitional: null,
  normal: null,
  primary: '\x1b[36m',
  good: '\x1b[32m',
  bad: '\x1b[31m',
};
const STOP = '\x1b[0m';

function roleClass(r: RoleName): ColorClass {
  return r === 'Primary' ? 'primary' : r === 'Secondary' ? 'normal' : 'transitional';
}
function diskClass(d: DiskStateName): ColorClass {
  switch (d) {
    case 'Diskless':
    case 'Inconsistent':
    case 'Outdated':
      return 'bad';
    case 'Consistent':
      return 'transitional';
    case 'UpToDate':
      return 'good';
    default:
      return 'transitional';
  }
}
function cstateClass(cs: ConnStateName): ColorClass {
  if (cs === 'StandAlone' || cs === 'WFConnection') return 'bad';
  if (cs === 'WFReportParams') return 'normal';
  return 'transitional';
}
function replClass(cs: ConnStateName): ColorClass {
  switch (cs) {
    case 'SyncSource':
    case 'SyncTarget':
    case 'PausedSyncT':
      return 'bad';
    case 'Connected':
    case 'VerifyS':
    case 'VerifyT':
    case 'PausedSyncS':
    case 'Ahead':
      return 'normal';
    default:
      return 'transitional';
  }
}
/** Replication states that describe this node lagging are coloured as local items. */
function replIsLocal(cs: ConnStateName): boolean {
  return cs === 'SyncTarget' || cs === 'PausedSyncT' || cs === 'Behind';
}

function paint(text: string, cls: ColorClass, local: boolean, color: boolean): string {
  if (!color) return text;
  const code = (local ? LOCAL_CODES : PEER_CODES)[cls];
  return code ? `${code}${text}${STOP}` : text;
}

// ---- drbdsetup's wrap_printf --------------------------------------------------------------

class Wrapper {
  out = '';
  private col = 0;
  constructor(private readonly columns: number) {}

  /** Print `text` (one printf item) at `indent`, wrapping before it if it would not fit. */
  emit(indent: number, text: string): void {
    let t = text;
    if (this.col + byteLength(t) > this.columns) {
      this.out += '\n';
      if (t.startsWith('\n')) t = t.slice(1);
      this.col = 0;
      t = this.startLine(indent, t);
    } else if (this.col === 0) {
      t = this.startLine(indent, t);
    }
    this.out += t;
    this.col += byteLength(t);
    if (t.endsWith('\n')) this.col = 0;
  }

  private startLine(indent: number, t: string): string {
    this.out += ' '.repeat(indent);
    this.col = indent;
    return t.replace(/^ +/, '');
  }
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

// ---- rendering ----------------------------------------------------------------------------

/** drbdsetup-84 shows 8.4 connection states with DRBD 9 words where they differ. */
function connectionWord(cs: ConnStateName): string {
  return cs === 'WFConnection' ? 'Connecting' : cs === 'WFReportParams' ? 'Connected' : cs;
}
function replicationWord(cs: ConnStateName): string {
  return cs === 'WFReportParams' ? 'Off' : cs === 'Connected' ? 'Established' : cs;
}

function suspendedWord(s: DrbdadmStatusResource['suspended']): string {
  const parts = [s.user && 'user', s.noData && 'no-data', s.fencing && 'fencing'].filter(Boolean);
  return parts.length ? parts.join(',') : 'no';
}

function resyncSuspendedWord(v: DrbdadmStatusVolume): string {
  return [v.userIsp && 'user', v.peerIsp && 'peer', v.aftrIsp && 'dependency'].filter(Boolean).join(',');
}

/**
 * done: = 100 × (1 − out-of-sync / size) in double precision, printed %.2f. A zero size gives
 * what glibc prints for the IEEE result: -nan for 0/0 on x86, -inf otherwise.
 */
export function doneField(oosSectors: number, sizeSectors: number): string {
  if (sizeSectors === 0) return oosSectors === 0 ? printfFixed2(NaN, true) : printfFixed2(-Infinity);
  return printfFixed2(100 * (1 - oosSectors / sizeSectors));
}

function renderResource(w: Wrapper, r: DrbdadmStatusResource, color: boolean): void {
  const vols = [...r.volumes].sort((a, b) => a.volume - b.volume);
  const single = vols.length === 1;

  w.emit(0, r.name);
  w.emit(4, ` role:${paint(r.role, roleClass(r.role), true, color)}`);
  if (r.suspended.user || r.suspended.noData || r.suspended.fencing) {
    w.emit(4, ` suspended:${suspendedWord(r.suspended)}`);
  }
  w.emit(0, '\n');

  for (const v of vols) {
    let indent = 2;
    if (!(single && v.volume === 0)) {
      w.emit(indent, `volume:${v.volume}`);
      indent = 6;
    }
    w.emit(indent, ` disk:${paint(v.disk, diskClass(v.disk), true, color)}`);
    if (v.upperBlocked || v.lowerBlocked) {
      const b = [v.upperBlocked && 'upper', v.lowerBlocked && 'lower'].filter(Boolean).join(',');
      w.emit(6, ` blocked:${b}`);
    }
    w.emit(6, '\n');
  }

  const c = r.connection;
  if (!c) return;
  const connCs: ConnStateName = connState(c.cs) > ConnState.WFReportParams ? 'WFReportParams' : c.cs;
  const connOrd = connState(connCs);
  w.emit(2, 'peer');
  if (connOrd < ConnState.WFReportParams) {
    w.emit(6, ` connection:${paint(connectionWord(connCs), cstateClass(connCs), true, color)}`);
  } else {
    w.emit(6, ` role:${paint(c.peerRole, roleClass(c.peerRole), false, color)}`);
  }
  if (c.congested) w.emit(6, ' congested:yes');
  w.emit(0, '\n');
  if (connOrd !== ConnState.WFReportParams) return;

  for (const v of vols) {
    const repl: ConnStateName = connState(v.cs) < ConnState.WFReportParams ? 'WFReportParams' : v.cs;
    let indent = 4;
    if (!(single && v.volume === 0)) {
      w.emit(indent, `volume:${v.volume}`);
      indent = 8;
    }
    if (connState(repl) > ConnState.WFReportParams) {
      w.emit(indent, ` replication:${paint(replicationWord(repl), replClass(repl), replIsLocal(repl), color)}`);
      indent = 8;
    }
    if (repl !== 'WFReportParams' || v.peerDisk !== 'DUnknown') {
      w.emit(indent, ` peer-disk:${paint(v.peerDisk, diskClass(v.peerDisk), false, color)}`);
      if (isSyncState(repl)) w.emit(8, ` done:${doneField(v.oosSectors, v.sizeSectors)}`);
      if (v.userIsp || v.peerIsp || v.aftrIsp) w.emit(8, ` resync-suspended:${resyncSuspendedWord(v)}`);
    }
    w.emit(0, '\n');
  }
}

/** drbdsetup sorts resources by name (byte order). */
function byName(a: DrbdadmStatusResource, b: DrbdadmStatusResource): number {
  const x = Buffer.from(a.name, 'utf8');
  const y = Buffer.from(b.name, 'utf8');
  return Buffer.compare(x, y);
}

/**
 * `drbdadm status [res|all]`: the resources given (the caller filters by name), each followed by
 * a blank line.
 */
export function renderDrbdadmStatus(resources: readonly DrbdadmStatusResource[], opts: DrbdadmStatusOptions = {}): string {
  const columns = opts.columns && opts.columns > 0 ? opts.columns : 80;
  const w = new Wrapper(columns);
  for (const r of [...resources].sort(byName)) {
    renderResource(w, r, opts.color ?? false);
    w.emit(0, '\n');
  }
  return w.out;
}
