// One state change = one request validated against the whole current state, then applied at
// once or refused with a named reason (DESIGN.md; states.md §2). Pure: the caller applies the
// new state, writes the log lines and runs the side effects.
import { ConnState, DiskState, FencingPolicy, Role } from './enums.js';
import { SS, ssName, ssText } from './errors.js';
import { effectivePeerDisk } from './handshake.js';
import { effectiveFencing, sanitizeState, type SanitizeRuleId } from './sanitize.js';
import { renderStateChangeFailure, renderStateChangeLine, stateChanges, type FieldChange } from './state-log.js';
import { statesEqual, type DeviceState, type StateChange, type StateContext } from './state.js';
import { isValidSoftTransition, isValidState, isValidTransition } from './validity.js';

export interface RequestOptions {
  ctx: StateContext;
  /** Hard change (network/disk events): only the always-enforced rules of §2.2 run. */
  hard?: boolean;
  /**
   * Do not classify as cluster-wide: the change was already accepted by the peer, or it is the
   * evaluation of the peer's own request (§2.5).
   */
  localOnly?: boolean;
}

/** What the caller must do besides storing the new state (after_state_ch-like consequences). */
export type StateSideEffect =
  /** Set bit 0 of the current UUID (uuids.onPromote decides about a new current UUID). */
  | { kind: 'promoted' }
  /** Clear bit 0 of the current UUID. */
  | { kind: 'demoted' }
  /** pdsk went from a real state to DUnknown/Outdated/Diskless/Failed (uuids.onLostPeerData). */
  | { kind: 'lost-peer-data' }
  /** The peer became Primary while its disk is Diskless (uuids.onPeerPromotedDiskless). */
  | { kind: 'peer-promoted-diskless' }
  /** Run a handler: pri-on-incon-degr, fence-peer. */
  | { kind: 'handler'; name: 'pri-on-incon-degr' | 'fence-peer' };

export interface StateChangeOk {
  ok: true;
  code: SS.Success | SS.NothingToDo;
  oldState: DeviceState;
  newState: DeviceState;
  changes: FieldChange[];
  /** The kernel's state-change line ('' when nothing changed). */
  logLine: string;
  /** Sanitize warnings, logged before logLine ("Resync aborted.", "Implicitly upgraded disk"). */
  warnings: string[];
  sanitizeRules: SanitizeRuleId[];
  /** §2.5: must be sent to the peer (P_STATE_CHG_REQ) and applied only if it accepts. */
  clusterWide: boolean;
  sideEffects: StateSideEffect[];
}

export interface StateChangeRefused {
  ok: false;
  code: SS;
  name: string;
  text: string;
  /** Id of the deciding rule (validity.ts tables). */
  rule?: string;
  oldState: DeviceState;
  wantedState: DeviceState;
  /** The kernel's lines for a verbose refusal (none for SS_IN_TRANSIENT_STATE). */
  logLines: string[];
}

export type StateChangeResult = StateChangeOk | StateChangeRefused;

export function refusal(code: SS, os: DeviceState, ns: DeviceState, rule?: string): StateChangeRefused {
  return {
    ok: false,
    code,
    name: ssName(code),
    text: ssText(code),
    ...(rule !== undefined ? { rule } : {}),
    oldState: os,
    wantedState: ns,
    logLines: renderStateChangeFailure(os, ns, code),
  };
}

/** §2.5: changes that must first be accepted by the peer while connected. */
export function isClusterWide(os: DeviceState, ns: DeviceState): boolean {
  const bothConnected = os.conn >= ConnState.Connected && ns.conn >= ConnState.Connected;
  if (bothConnected) {
    if (ns.role === Role.Primary && os.role !== Role.Primary) return true;
    if (ns.conn === ConnState.StartingSyncS && os.conn !== ConnState.StartingSyncS) return true;
    if (ns.conn === ConnState.StartingSyncT && os.conn !== ConnState.StartingSyncT) return true;
    if (ns.disk === DiskState.Failed && os.disk !== DiskState.Failed) return true;
  }
  if (os.conn >= ConnState.Connected && ns.conn === ConnState.Disconnecting) return true;
  if (os.conn === ConnState.Connected && ns.conn === ConnState.VerifyS) return true;
  return false;
}

/** A peer disk state that stands for real data (Inconsistent, Consistent, UpToDate). */
function isRealPeerData(d: DiskState): boolean {
  return d >= DiskState.Inconsistent && d !== DiskState.DUnknown && d !== DiskState.Outdated;
}

/** The consequences of an accepted change that a caller has to act on (states.md §3). */
export function stateSideEffects(os: DeviceState, ns: DeviceState, ctx: StateContext): StateSideEffect[] {
  const out: StateSideEffect[] = [];
  if (os.role !== Role.Primary && ns.role === Role.Primary) out.push({ kind: 'promoted' });
  if (os.role === Role.Primary && ns.role !== Role.Primary) out.push({ kind: 'demoted' });
  if (isRealPeerData(os.pdsk) && !isRealPeerData(ns.pdsk)) out.push({ kind: 'lost-peer-data' });
  if (
    os.peer !== Role.Primary &&
    ns.peer === Role.Primary &&
    ns.conn >= ConnState.Connected &&
    ns.pdsk === DiskState.Diskless
  ) {
    out.push({ kind: 'peer-promoted-diskless' });
  }
  const noGoodData = (s: DeviceState): boolean =>
    s.role === Role.Primary && s.disk < DiskState.UpToDate && s.pdsk < DiskState.UpToDate;
  if (noGoodData(ns) && !noGoodData(os)) out.push({ kind: 'handler', name: 'pri-on-incon-degr' });
  if (
    effectiveFencing(os, ctx) >= FencingPolicy.ResourceOnly &&
    ns.role === Role.Primary &&
    os.conn >= ConnState.Connected &&
    ns.conn < ConnState.Connected &&
    ns.pdsk >= DiskState.DUnknown
  ) {
    out.push({ kind: 'handler', name: 'fence-peer' });
  }
  return out;
}

/**
 * Evaluates one state change request (states.md §2): apply the change, sanitize (§2.1), refuse
 * by §2.2; for a soft (user) change also by §2.3 — unless the old state fails the same way — and
 * §2.4. A result equal to the old state is SS_NOTHING_TO_DO (success for drbdsetup).
 */
export function requestStateChange(
  current: DeviceState,
  change: StateChange,
  opts: RequestOptions,
): StateChangeResult {
  const os = current;
  const { state: ns, warnings, applied } = sanitizeState(os, { ...os, ...change }, opts.ctx);

  if (statesEqual(os, ns)) {
    return {
      ok: true,
      code: SS.NothingToDo,
      oldState: os,
      newState: os,
      changes: [],
      logLine: '',
      warnings: [],
      sanitizeRules: applied,
      clusterWide: false,
      sideEffects: [],
    };
  }

  const t = isValidTransition(os, ns);
  if (t.code < SS.Success) return refusal(t.code, os, ns, t.rule);

  if (!opts.hard) {
    const v = isValidState(ns, opts.ctx, os);
    if (v.code < SS.Success && isValidState(os, opts.ctx, os).code !== v.code) {
      return refusal(v.code, os, ns, v.rule);
    }
    const s = isValidSoftTransition(os, ns, opts.ctx);
    if (s.code < SS.Success) return refusal(s.code, os, ns, s.rule);
  }

  const changes = stateChanges(os, ns);
  return {
    ok: true,
    code: SS.Success,
    oldState: os,
    newState: ns,
    changes,
    logLine: renderStateChangeLine(changes),
    warnings,
    sanitizeRules: applied,
    clusterWide: !opts.hard && !opts.localOnly && isClusterWide(os, ns),
    sideEffects: stateSideEffects(os, ns, opts.ctx),
  };
}

/**
 * The requester's result when the peer answered a cluster-wide request with a refusal:
 * SS_CW_FAILED_BY_PEER whatever the peer's own code was (§2.5).
 */
export function refusedByPeer(current: DeviceState, change: StateChange, ctx: StateContext): StateChangeRefused {
  const { state: ns } = sanitizeState(current, { ...current, ...change }, ctx);
  return refusal(SS.CwFailedByPeer, current, ns);
}

// ---------------------------------------------------------------------------------------------
// The peer's view (§2.5, wire-protocol-84.md §5.3).

/** A connection state as the other node sees it. */
export function mirrorConn(c: ConnState): ConnState {
  switch (c) {
    case ConnState.StartingSyncS:
      return ConnState.StartingSyncT;
    case ConnState.StartingSyncT:
      return ConnState.StartingSyncS;
    case ConnState.WFBitMapS:
      return ConnState.WFBitMapT;
    case ConnState.WFBitMapT:
      return ConnState.WFBitMapS;
    case ConnState.VerifyS:
      return ConnState.VerifyT;
    case ConnState.Disconnecting:
      return ConnState.TearDown;
    default:
      return c;
  }
}

/**
 * Converts a change requested by the peer (in the peer's view) into ours: role↔peer,
 * disk↔pdsk, conn mapped; the peer's own pause flags become our peer_isp.
 */
export function mirrorChange(peerChange: StateChange): StateChange {
  const out: StateChange = {};
  if (peerChange.role !== undefined) out.peer = peerChange.role;
  if (peerChange.peer !== undefined) out.role = peerChange.peer;
  if (peerChange.disk !== undefined) out.pdsk = peerChange.disk;
  if (peerChange.pdsk !== undefined) out.disk = peerChange.pdsk;
  if (peerChange.conn !== undefined) out.conn = mirrorConn(peerChange.conn);
  if (peerChange.aftrIsp !== undefined || peerChange.userIsp !== undefined) {
    out.peerIsp = Boolean(peerChange.aftrIsp) || Boolean(peerChange.userIsp);
  }
  if (peerChange.susp !== undefined) out.susp = peerChange.susp;
  return out;
}

/**
 * What a received P_STATE tells us about the peer (wire-protocol-84.md §5.3): peer := sender.role,
 * pdsk := sender.disk (a Negotiating sender resolved by the UI_FLAGS of its last P_UUIDS, see
 * effectivePeerDisk), peer_isp := sender.aftr_isp | sender.user_isp.
 */
export function peerViewOf(sender: DeviceState, senderUuidFlags = 0): Pick<DeviceState, 'peer' | 'pdsk' | 'peerIsp'> {
  return {
    peer: sender.role,
    pdsk: effectivePeerDisk(sender.disk, senderUuidFlags),
    peerIsp: sender.aftrIsp || sender.userIsp,
  };
}

export interface PeerRequestOptions {
  ctx: StateContext;
  /** This node holds RESOLVE_CONFLICTS (accepted the meta socket). */
  resolveConflicts: boolean;
  /** This node is itself in the middle of a state change. */
  localChangeInProgress: boolean;
}

export interface PeerRequestVerdict {
  /** The code for P_STATE_CHG_REPLY / P_CONN_ST_CHG_REPLY. */
  replyCode: SS;
  /** The local evaluation (absent when refused as a concurrent change). */
  result?: StateChangeResult;
}

/**
 * Evaluates a P_STATE_CHG_REQ / P_CONN_ST_CHG_REQ from the peer as a local soft change of the
 * mirrored state. The tie-break holder refuses while busy (SS_CONCURRENT_ST_CHG). When the peer
 * disconnects and asks us to outdate ourselves while our disk is already below Outdated, the
 * outdate part is dropped instead of refusing the disconnect (the kernel ignores that failure).
 */
export function evaluatePeerRequest(
  current: DeviceState,
  peerChange: StateChange,
  opts: PeerRequestOptions,
): PeerRequestVerdict {
  if (opts.resolveConflicts && opts.localChangeInProgress) return { replyCode: SS.ConcurrentStChg };
  const mine = mirrorChange(peerChange);
  if (
    mine.conn === ConnState.TearDown &&
    mine.disk === DiskState.Outdated &&
    current.disk < DiskState.Outdated
  ) {
    delete mine.disk;
  }
  const result = requestStateChange(current, mine, { ctx: opts.ctx, localOnly: true });
  return { replyCode: result.code, result };
}
