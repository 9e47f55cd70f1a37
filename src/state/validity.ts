// The three rule tables a state change is checked against (states.md §2.2–2.4), as data:
// each rule has an id (the spec's row), a condition and the SS_* code it yields.
import { ConnState, DiskState, FencingPolicy, Role } from './enums.js';
import { SS } from './errors.js';
import { effectiveFencing } from './sanitize.js';
import { isStartingSync, isVerifyState, type DeviceState, type StateContext } from './state.js';

export interface RuleVerdict {
  code: SS;
  /** The rule id of the table row that decided, undefined when every rule passed. */
  rule?: string;
}

// ---------------------------------------------------------------------------------------------
// §2.2 Always enforced (also for hard changes). First matching connection rule decides; the
// disk rule is checked last and overrides (a Failed-from-Diskless request is always refused).

interface TransitionRule {
  id: string;
  code: SS;
  when: (oc: ConnState, nc: ConnState) => boolean;
}

export const CONN_TRANSITION_RULES: readonly TransitionRule[] = [
  // conn unchanged: "nothing to do" for the connection part, i.e. not a refusal.
  { id: 'T1-conn-unchanged', code: SS.NothingToDo, when: (oc, nc) => oc === nc },
  {
    id: 'T2-standalone-disconnect',
    code: SS.AlreadyStandalone,
    when: (oc, nc) => oc === ConnState.StandAlone && nc === ConnState.Disconnecting,
  },
  {
    id: 'T3-standalone-not-unconnected',
    code: SS.NeedConnection,
    when: (oc, nc) => oc === ConnState.StandAlone && nc !== ConnState.Unconnected,
  },
  {
    id: 'T4-skip-wfreportparams',
    code: SS.NeedConnection,
    when: (oc, nc) => oc < ConnState.WFReportParams && nc >= ConnState.Connected,
  },
  {
    id: 'T5-after-network-error',
    code: SS.InTransientState,
    when: (oc, nc) =>
      oc >= ConnState.Timeout &&
      oc <= ConnState.TearDown &&
      nc !== ConnState.Unconnected &&
      nc !== ConnState.Disconnecting,
  },
  {
    id: 'T6-disconnecting-not-standalone',
    code: SS.InTransientState,
    when: (oc, nc) => oc === ConnState.Disconnecting && nc !== ConnState.StandAlone,
  },
];

export const DISK_TRANSITION_RULE_ID = 'T7-diskless-to-failed';

export function isValidTransition(os: DeviceState, ns: DeviceState): RuleVerdict {
  let verdict: RuleVerdict = { code: SS.Success };
  for (const r of CONN_TRANSITION_RULES) {
    if (r.when(os.conn, ns.conn)) {
      verdict = { code: r.code, rule: r.id };
      break;
    }
  }
  if (ns.disk === DiskState.Failed && os.disk === DiskState.Diskless) {
    verdict = { code: SS.IsDiskless, rule: DISK_TRANSITION_RULE_ID };
  }
  return verdict;
}

// ---------------------------------------------------------------------------------------------
// §2.3 is_valid_state: conditions on the new state only, first match wins.

interface StateRule {
  id: string;
  code: SS;
  /** `os` is only used to read the fencing policy in force (it needs a local disk). */
  when: (ns: DeviceState, ctx: StateContext, os: DeviceState) => boolean;
}

const isPrimary = (s: DeviceState): boolean => s.role === Role.Primary;

export const VALID_STATE_RULES: readonly StateRule[] = [
  {
    id: 'V1-two-primaries',
    code: SS.TwoPrimaries,
    when: (ns, ctx) => ctx.hasNetConfig && !ctx.allowTwoPrimaries && isPrimary(ns) && ns.peer === Role.Primary,
  },
  {
    id: 'V1b-other-volume-peer-primary',
    code: SS.OVolPeerPri,
    when: (ns, ctx) => ctx.hasNetConfig && !ctx.allowTwoPrimaries && isPrimary(ns) && ctx.otherVolumePeerPrimary,
  },
  {
    id: 'V2-device-in-use',
    code: SS.DeviceInUse,
    when: (ns, ctx) => ns.role === Role.Secondary && ctx.openCount > 0,
  },
  {
    id: 'V3-primary-disconnected-no-uptodate',
    code: SS.NoUpToDateDisk,
    when: (ns) => isPrimary(ns) && ns.conn < ConnState.Connected && ns.disk < DiskState.UpToDate,
  },
  {
    id: 'V4-primary-nop',
    code: SS.PrimaryNop,
    when: (ns, ctx, os) =>
      effectiveFencing(os, ctx) >= FencingPolicy.ResourceOnly &&
      isPrimary(ns) &&
      ns.conn < ConnState.Connected &&
      ns.pdsk >= DiskState.DUnknown,
  },
  {
    id: 'V5-primary-both-inconsistent',
    code: SS.NoUpToDateDisk,
    when: (ns) => isPrimary(ns) && ns.disk <= DiskState.Inconsistent && ns.pdsk <= DiskState.Inconsistent,
  },
  {
    id: 'V6-sync-no-local-disk',
    code: SS.NoLocalDisk,
    when: (ns) => ns.conn > ConnState.Connected && ns.disk < DiskState.Inconsistent,
  },
  {
    id: 'V7-sync-no-remote-disk',
    code: SS.NoRemoteDisk,
    when: (ns) => ns.conn > ConnState.Connected && ns.pdsk < DiskState.Inconsistent,
  },
  {
    id: 'V8-sync-no-uptodate',
    code: SS.NoUpToDateDisk,
    when: (ns) => ns.conn > ConnState.Connected && ns.disk < DiskState.UpToDate && ns.pdsk < DiskState.UpToDate,
  },
  {
    id: 'V9-connected-outdated',
    code: SS.ConnectedOutdates,
    when: (ns) =>
      (ns.conn === ConnState.Connected ||
        ns.conn === ConnState.WFBitMapS ||
        ns.conn === ConnState.SyncSource ||
        ns.conn === ConnState.PausedSyncS) &&
      ns.disk === DiskState.Outdated,
  },
  {
    id: 'V10-no-verify-alg',
    code: SS.NoVerifyAlg,
    when: (ns, ctx) => isVerifyState(ns.conn) && ctx.verifyAlg === '',
  },
  {
    id: 'V11-verify-not-supported',
    code: SS.NotSupported,
    when: (ns, ctx) => isVerifyState(ns.conn) && ctx.agreedProtocol < 88,
  },
  {
    id: 'V12-primary-no-uptodate',
    code: SS.NoUpToDateDisk,
    when: (ns) => isPrimary(ns) && ns.disk < DiskState.UpToDate && ns.pdsk < DiskState.UpToDate,
  },
  {
    id: 'V13-starting-sync-no-peer-disk',
    code: SS.NeedConnection,
    when: (ns) => isStartingSync(ns.conn) && ns.pdsk === DiskState.DUnknown,
  },
  {
    id: 'V14-connected-pdsk-unknown',
    code: SS.ConnectedOutdates,
    when: (ns) => ns.conn >= ConnState.Connected && ns.pdsk === DiskState.DUnknown,
  },
];

/** is_valid_state: the first failing rule of §2.3, or SS_SUCCESS. */
export function isValidState(ns: DeviceState, ctx: StateContext, os: DeviceState = ns): RuleVerdict {
  for (const r of VALID_STATE_RULES) {
    if (r.when(ns, ctx, os)) return { code: r.code, rule: r.id };
  }
  return { code: SS.Success };
}

// ---------------------------------------------------------------------------------------------
// §2.4 is_valid_soft_transition: every rule is evaluated, a later match overrides an earlier.

interface SoftRule {
  id: string;
  code: SS;
  when: (os: DeviceState, ns: DeviceState, ctx: StateContext) => boolean;
}

/**
 * The handshake's own connection steps are exempt from the "handshake in progress" rule:
 * WFConnection → WFReportParams, and any connection step out of WFReportParams (the
 * handshake's verdict, which the receiver applies as a user-level change).
 */
function isHandshakeConnStep(os: DeviceState, ns: DeviceState): boolean {
  if (ns.conn === os.conn) return false;
  return (
    os.conn === ConnState.WFReportParams ||
    (os.conn === ConnState.WFConnection && ns.conn === ConnState.WFReportParams)
  );
}

export const SOFT_TRANSITION_RULES: readonly SoftRule[] = [
  {
    id: 'U1-starting-sync-while-syncing',
    code: SS.ResyncRunning,
    when: (os, ns) => isStartingSync(ns.conn) && os.conn > ConnState.Connected,
  },
  {
    id: 'U2-disconnect-standalone',
    code: SS.AlreadyStandalone,
    when: (os, ns) => ns.conn === ConnState.Disconnecting && os.conn === ConnState.StandAlone,
  },
  {
    id: 'U3-attach-skips-attaching',
    code: SS.IsDiskless,
    when: (os, ns) => ns.disk > DiskState.Attaching && os.disk === DiskState.Diskless,
  },
  {
    id: 'U4-connect-without-net-config',
    code: SS.NoNetConfig,
    when: (os, ns) => ns.conn === ConnState.WFConnection && os.conn < ConnState.Unconnected,
  },
  {
    id: 'U5-outdate-lower-disk',
    code: SS.LowerThanOutdated,
    when: (os, ns) =>
      ns.disk === DiskState.Outdated && os.disk < DiskState.Outdated && os.disk !== DiskState.Attaching,
  },
  {
    id: 'U6-disconnect-unconnected',
    code: SS.InTransientState,
    when: (os, ns) => ns.conn === ConnState.Disconnecting && os.conn === ConnState.Unconnected,
  },
  {
    id: 'U7-handshake-in-progress',
    code: SS.InTransientState,
    when: (os, ns, ctx) => ctx.stateSent && !isHandshakeConnStep(os, ns),
  },
  {
    id: 'U8-promote-during-handshake',
    code: SS.InTransientState,
    when: (os, ns) =>
      os.role !== Role.Primary &&
      ns.role === Role.Primary &&
      ns.pdsk === DiskState.UpToDate &&
      ns.disk !== DiskState.UpToDate &&
      ns.disk !== DiskState.Diskless &&
      (ns.conn <= ConnState.WFSyncUUID || ns.conn !== os.conn),
  },
  {
    id: 'U9-verify-without-connection',
    code: SS.NeedConnection,
    when: (os, ns) => isVerifyState(ns.conn) && os.conn < ConnState.Connected,
  },
  {
    id: 'U10-verify-while-syncing',
    code: SS.ResyncRunning,
    when: (os, ns) => isVerifyState(ns.conn) && ns.conn !== os.conn && os.conn > ConnState.Connected,
  },
  {
    id: 'U11-starting-sync-without-connection',
    code: SS.NeedConnection,
    when: (os, ns) => isStartingSync(ns.conn) && os.conn < ConnState.Connected,
  },
  {
    id: 'U12-sync-without-connection',
    code: SS.NeedConnection,
    when: (os, ns) =>
      (ns.conn === ConnState.SyncSource || ns.conn === ConnState.SyncTarget) && os.conn < ConnState.WFReportParams,
  },
  {
    id: 'U13-outdate-peer-without-connection',
    code: SS.OutdateWoConn,
    when: (os, ns) =>
      ns.conn === ConnState.Disconnecting &&
      ns.pdsk === DiskState.Outdated &&
      os.conn < ConnState.Connected &&
      os.pdsk > DiskState.Outdated,
  },
];

/** is_valid_soft_transition: the last failing rule of §2.4, or SS_SUCCESS. */
export function isValidSoftTransition(os: DeviceState, ns: DeviceState, ctx: StateContext): RuleVerdict {
  let verdict: RuleVerdict = { code: SS.Success };
  for (const r of SOFT_TRANSITION_RULES) {
    if (r.when(os, ns, ctx)) verdict = { code: r.code, rule: r.id };
  }
  return verdict;
}

/** Every rule id of §2.2–2.4, for coverage checks. */
export const ALL_VALIDITY_RULE_IDS: readonly string[] = [
  ...CONN_TRANSITION_RULES.map((r) => r.id),
  DISK_TRANSITION_RULE_ID,
  ...VALID_STATE_RULES.map((r) => r.id),
  ...SOFT_TRANSITION_RULES.map((r) => r.id),
];
