// Attach-time disk state from the meta-data flags, the flags written back on every state change,
// and the wait-connect timeout choice (states.md §3, metadata-v08.md §2 "Flags").
import { ConnState, DiskState, FencingPolicy, Role } from './enums.js';
import type { DeviceState, StateChange } from './state.js';

/**
 * Meta-data flag bits (u32 at 0x38 of the v08 superblock, metadata-v08.md), DRBD's MDF_* names.
 * The single definition: src/meta reads and writes them through this object.
 */
export const MDF = {
  CONSISTENT: 0x01,
  PRIMARY_IND: 0x02,
  CONNECTED_IND: 0x04,
  FULL_SYNC: 0x08,
  WAS_UP_TO_DATE: 0x10,
  PEER_OUT_DATED: 0x20,
  CRASHED_PRIMARY: 0x40,
  AL_CLEAN: 0x80,
  AL_DISABLED: 0x100,
} as const;

export interface AttachInput {
  mdFlags: number;
  fencing: FencingPolicy;
  /** The connection state at attach time. */
  conn: ConnState;
}

export interface AttachDecision {
  /** The disk/pdsk the attach settles on. */
  settled: { disk: DiskState; pdsk?: DiskState };
  /**
   * The change to request after Attaching: `settled`, or disk := Negotiating while Connected
   * (the handshake decides; keep `settled` as StateContext.preNegotiation meanwhile).
   */
  change: StateChange;
  negotiating: boolean;
  /** PRIMARY_IND or CRASHED_PRIMARY was set: the node went down as Primary uncleanly. */
  crashedPrimary: boolean;
  /** PRIMARY_IND without CONNECTED_IND: a degraded Primary before the crash (degr-wfc-timeout). */
  useDegrWfc: boolean;
}

/**
 * Disk state from the flags: !CONSISTENT ⇒ Inconsistent; CONSISTENT & !WAS_UP_TO_DATE ⇒
 * Outdated; both ⇒ Consistent, raised to UpToDate if fencing is dont-care or the peer is known
 * outdated (PEER_OUT_DATED, which also gives pdsk Outdated).
 */
export function attachDiskState(input: AttachInput): AttachDecision {
  const f = input.mdFlags;
  let disk: DiskState;
  if (!(f & MDF.CONSISTENT)) disk = DiskState.Inconsistent;
  else if (!(f & MDF.WAS_UP_TO_DATE)) disk = DiskState.Outdated;
  else disk = DiskState.Consistent;
  const peerOutdated = (f & MDF.PEER_OUT_DATED) !== 0;
  if (disk === DiskState.Consistent && (peerOutdated || input.fencing === FencingPolicy.DontCare)) {
    disk = DiskState.UpToDate;
  }
  const settled: AttachDecision['settled'] = peerOutdated ? { disk, pdsk: DiskState.Outdated } : { disk };
  const negotiating = input.conn === ConnState.Connected;
  return {
    settled,
    change: negotiating ? { disk: DiskState.Negotiating } : { ...settled },
    negotiating,
    crashedPrimary: (f & (MDF.PRIMARY_IND | MDF.CRASHED_PRIMARY)) !== 0,
    useDegrWfc: (f & MDF.PRIMARY_IND) !== 0 && (f & MDF.CONNECTED_IND) === 0,
  };
}

/**
 * The meta-data flags after a state change (written when they differ): CONSISTENT,
 * WAS_UP_TO_DATE, PRIMARY_IND, CONNECTED_IND and PEER_OUT_DATED from the new state,
 * CRASHED_PRIMARY from the in-memory flag, AL_CLEAN cleared, other bits kept. Undefined while
 * the disk is below Inconsistent (the flags are not updated then).
 */
export function mdFlagsForState(current: number, ns: DeviceState, crashedPrimary: boolean): number | undefined {
  if (ns.disk < DiskState.Inconsistent) return undefined;
  let f =
    current &
    ~(MDF.CONSISTENT | MDF.PRIMARY_IND | MDF.CONNECTED_IND | MDF.WAS_UP_TO_DATE | MDF.PEER_OUT_DATED | MDF.CRASHED_PRIMARY | MDF.AL_CLEAN);
  if (crashedPrimary) f |= MDF.CRASHED_PRIMARY;
  if (ns.role === Role.Primary || (ns.peer === Role.Primary && ns.pdsk < DiskState.Inconsistent)) f |= MDF.PRIMARY_IND;
  if (ns.conn > ConnState.WFReportParams) f |= MDF.CONNECTED_IND;
  if (ns.disk > DiskState.Inconsistent) f |= MDF.CONSISTENT;
  if (ns.disk > DiskState.Outdated) f |= MDF.WAS_UP_TO_DATE;
  if (ns.pdsk === DiskState.Inconsistent || ns.pdsk === DiskState.Outdated) f |= MDF.PEER_OUT_DATED;
  return f >>> 0;
}

/** The crashed-primary mark is dropped once both disks are UpToDate (handshake doc §3). */
export function crashedPrimaryAfter(crashedPrimary: boolean, ns: DeviceState): boolean {
  return crashedPrimary && !(ns.disk === DiskState.UpToDate && ns.pdsk === DiskState.UpToDate);
}

// ---------------------------------------------------------------------------------------------
// wait-connect timeouts (states.md §3 "degr-wfc-timeout", §5 wait-connect).

export interface WfcTimeouts {
  /** Seconds; 0 = wait forever. */
  wfc: number;
  degrWfc: number;
  outdatedWfc: number;
}

/**
 * drbdsetup's clamp: with a finite wfc-timeout, a degr/outdated timeout that is 0 (forever) or
 * longer is set to wfc-timeout, with a two-line notice on stderr each.
 */
export function normalizeWfcTimeouts(t: WfcTimeouts): { timeouts: WfcTimeouts; warnings: string[] } {
  const out = { ...t };
  const warnings: string[] = [];
  if (t.wfc > 0 && (t.degrWfc === 0 || t.degrWfc > t.wfc)) {
    out.degrWfc = t.wfc;
    warnings.push(
      'degr-wfc-timeout has to be shorter than wfc-timeout',
      `degr-wfc-timeout implicitly set to wfc-timeout (${t.wfc}s)`,
    );
  }
  if (t.wfc > 0 && (t.outdatedWfc === 0 || t.outdatedWfc > t.wfc)) {
    out.outdatedWfc = t.wfc;
    warnings.push(
      'outdated-wfc-timeout has to be shorter than wfc-timeout',
      `outdated-wfc-timeout implicitly set to wfc-timeout (${t.wfc}s)`,
    );
  }
  return { timeouts: out, warnings };
}

export type WfcKind = 'wfc-timeout' | 'degr-wfc-timeout' | 'outdated-wfc-timeout';

/**
 * Which timeout wait-connect uses: outdated-wfc-timeout when the peer is known Outdated, else
 * degr-wfc-timeout when the node was a degraded Primary before it went down, else wfc-timeout.
 */
export function selectWfcTimeout(
  t: WfcTimeouts,
  s: { pdsk: DiskState; useDegrWfc: boolean },
): { kind: WfcKind; seconds: number } {
  if (s.pdsk === DiskState.Outdated) return { kind: 'outdated-wfc-timeout', seconds: t.outdatedWfc };
  if (s.useDegrWfc) return { kind: 'degr-wfc-timeout', seconds: t.degrWfc };
  return { kind: 'wfc-timeout', seconds: t.wfc };
}

/** wait-connect is satisfied: connected, or (without --wait-after-sb) given up (StandAlone…). */
export function waitConnectDone(conn: ConnState, waitAfterSb: boolean): boolean {
  if (conn >= ConnState.Connected) return true;
  return !waitAfterSb && conn < ConnState.Unconnected;
}
