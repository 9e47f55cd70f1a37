// sanitize_state: the implicit adjustments applied to every requested state before it is
// validated (states.md §2.1), in the spec's order. Each rule reports when it changed something,
// so tests can prove every rule is reached.
import { ConnState, DiskState, FencingPolicy, OnNoDataAccessible, Role } from './enums.js';
import type { DeviceState, StateContext } from './state.js';

export type SanitizeRuleId =
  | 'S1-peer-unknown'
  | 'S2-standalone-no-aftr'
  | 'S3-abort-sync'
  | 'S4-negotiation-lost'
  | 'S5-lift-to-uptodate'
  | 'S6-clamp'
  | 'S7-susp-fen'
  | 'S8-susp-nod'
  | 'S9-pause'
  | 'S9-resume';

export const SANITIZE_RULES: readonly SanitizeRuleId[] = [
  'S1-peer-unknown',
  'S2-standalone-no-aftr',
  'S3-abort-sync',
  'S4-negotiation-lost',
  'S5-lift-to-uptodate',
  'S6-clamp',
  'S7-susp-fen',
  'S8-susp-nod',
  'S9-pause',
  'S9-resume',
];

export interface SanitizeResult {
  state: DeviceState;
  /** Kernel warnings to log before the state-change line ("Resync aborted.", …). */
  warnings: string[];
  /** Rules that changed the state. */
  applied: SanitizeRuleId[];
}

/**
 * The fencing policy in force: it belongs to the disk config, so a node without a usable
 * disk (< Inconsistent) has none (the kernel reads it only while holding a local disk).
 */
export function effectiveFencing(os: DeviceState, ctx: StateContext): FencingPolicy {
  return os.disk >= DiskState.Inconsistent ? ctx.fencing : FencingPolicy.DontCare;
}

interface Range {
  diskMin: DiskState;
  diskMax: DiskState;
  pdskMin: DiskState;
  pdskMax: DiskState;
}

/** Table of §2.1 rule 6: the disk/pdsk range allowed in each connection state. */
export function diskRangeFor(conn: ConnState): Range {
  const D = DiskState;
  switch (conn) {
    case ConnState.WFBitMapT:
    case ConnState.PausedSyncT:
    case ConnState.StartingSyncT:
    case ConnState.WFSyncUUID:
    case ConnState.Behind:
      return { diskMin: D.Inconsistent, diskMax: D.Outdated, pdskMin: D.UpToDate, pdskMax: D.UpToDate };
    case ConnState.VerifyS:
    case ConnState.VerifyT:
      return { diskMin: D.UpToDate, diskMax: D.UpToDate, pdskMin: D.UpToDate, pdskMax: D.UpToDate };
    case ConnState.Connected:
      return { diskMin: D.Diskless, diskMax: D.UpToDate, pdskMin: D.Diskless, pdskMax: D.UpToDate };
    case ConnState.WFBitMapS:
    case ConnState.PausedSyncS:
    case ConnState.StartingSyncS:
    case ConnState.Ahead:
      return { diskMin: D.UpToDate, diskMax: D.UpToDate, pdskMin: D.Inconsistent, pdskMax: D.Consistent };
    case ConnState.SyncTarget:
      return { diskMin: D.Inconsistent, diskMax: D.Inconsistent, pdskMin: D.UpToDate, pdskMax: D.UpToDate };
    case ConnState.SyncSource:
      return { diskMin: D.UpToDate, diskMax: D.UpToDate, pdskMin: D.Inconsistent, pdskMax: D.Inconsistent };
    default:
      // every state < Connected: disk any, pdsk Inconsistent..DUnknown (rule 1 already
      // guarantees the pdsk range there, so this clamp never fires for them).
      return { diskMin: D.Diskless, diskMax: D.UpToDate, pdskMin: D.Inconsistent, pdskMax: D.DUnknown };
  }
}

/** Applies §2.1 rules 1–9 in order to the requested state `wanted`; `os` is the current state. */
export function sanitizeState(os: DeviceState, wanted: DeviceState, ctx: StateContext): SanitizeResult {
  const ns: DeviceState = { ...wanted };
  const warnings: string[] = [];
  const applied: SanitizeRuleId[] = [];
  const hit = (id: SanitizeRuleId, changed: boolean): void => {
    if (changed) applied.push(id);
  };

  // 1. Without a connection the peer is unknown; only "remembered" peer disk states survive.
  if (ns.conn < ConnState.Connected) {
    const before = { peer: ns.peer, peerIsp: ns.peerIsp, pdsk: ns.pdsk };
    ns.peer = Role.Unknown;
    ns.peerIsp = false;
    if (ns.pdsk !== DiskState.Inconsistent && ns.pdsk !== DiskState.Outdated && ns.pdsk !== DiskState.DUnknown) {
      ns.pdsk = DiskState.DUnknown;
    }
    hit('S1-peer-unknown', before.peer !== ns.peer || before.peerIsp !== ns.peerIsp || before.pdsk !== ns.pdsk);
  }

  // 2. An unconfigured device has no resync-after dependency pause.
  if (ns.conn === ConnState.StandAlone && ns.disk === DiskState.Diskless && ns.role === Role.Secondary && ns.aftrIsp) {
    ns.aftrIsp = false;
    hit('S2-standalone-no-aftr', true);
  }

  // 3. A resync/verify cannot go on without both disks.
  if (ns.conn > ConnState.Connected && (ns.disk <= DiskState.Failed || ns.pdsk <= DiskState.Failed)) {
    warnings.push(
      ns.conn === ConnState.VerifyS || ns.conn === ConnState.VerifyT ? 'Online-verify aborted.' : 'Resync aborted.',
    );
    ns.conn = ConnState.Connected;
    hit('S3-abort-sync', true);
  }

  // 4. Connection lost while an attach was negotiating: fall back to the pre-negotiation state.
  if (ns.conn < ConnState.Connected && ns.disk === DiskState.Negotiating) {
    if (ctx.preNegotiation) {
      ns.disk = ctx.preNegotiation.disk;
      ns.pdsk = ctx.preNegotiation.pdsk;
    } else {
      warnings.push('Connection lost while negotiating, no data!');
      ns.disk = DiskState.Diskless;
      ns.pdsk = DiskState.DUnknown;
    }
    hit('S4-negotiation-lost', true);
  }

  // 5. While connected, Consistent/Outdated are lifted to UpToDate (both sides).
  if (ns.conn >= ConnState.Connected && ns.conn < ConnState.Ahead) {
    let changed = false;
    if (ns.disk === DiskState.Consistent || ns.disk === DiskState.Outdated) {
      ns.disk = DiskState.UpToDate;
      changed = true;
    }
    if (ns.pdsk === DiskState.Consistent || ns.pdsk === DiskState.Outdated) {
      ns.pdsk = DiskState.UpToDate;
      changed = true;
    }
    hit('S5-lift-to-uptodate', changed);
  }

  // 6. Clamp into the range the connection state allows.
  {
    const r = diskRangeFor(ns.conn);
    const before = { disk: ns.disk, pdsk: ns.pdsk };
    if (ns.disk > r.diskMax) ns.disk = r.diskMax;
    if (ns.disk < r.diskMin) {
      warnings.push('Implicitly upgraded disk');
      ns.disk = r.diskMin;
    }
    if (ns.pdsk > r.pdskMax) ns.pdsk = r.pdskMax;
    if (ns.pdsk < r.pdskMin) {
      warnings.push('Implicitly upgraded pdsk');
      ns.pdsk = r.pdskMin;
    }
    hit('S6-clamp', before.disk !== ns.disk || before.pdsk !== ns.pdsk);
  }

  // 7. resource-and-stonith: freeze I/O when a Primary newly loses a not-outdated peer.
  const lostPeer = (s: DeviceState): boolean =>
    s.role === Role.Primary && s.conn < ConnState.Connected && s.pdsk > DiskState.Outdated;
  if (effectiveFencing(os, ctx) === FencingPolicy.ResourceAndStonith && lostPeer(ns) && !lostPeer(os) && !ns.suspFen) {
    ns.suspFen = true;
    hit('S7-susp-fen', true);
  }

  // 8. on-no-data-accessible suspend-io: freeze I/O when a Primary newly has no good data.
  const noData = (s: DeviceState): boolean =>
    s.role === Role.Primary && s.disk < DiskState.UpToDate && s.pdsk < DiskState.UpToDate;
  if (ctx.onNoDataAccessible === OnNoDataAccessible.SuspendIo && noData(ns) && !noData(os) && !ns.suspNod) {
    ns.suspNod = true;
    hit('S8-susp-nod', true);
  }

  // 9. Any pause flag pauses a running resync; none resumes it.
  if (ns.aftrIsp || ns.peerIsp || ns.userIsp) {
    if (ns.conn === ConnState.SyncSource || ns.conn === ConnState.SyncTarget) {
      ns.conn = ns.conn === ConnState.SyncSource ? ConnState.PausedSyncS : ConnState.PausedSyncT;
      hit('S9-pause', true);
    }
  } else if (ns.conn === ConnState.PausedSyncS || ns.conn === ConnState.PausedSyncT) {
    ns.conn = ns.conn === ConnState.PausedSyncS ? ConnState.SyncSource : ConnState.SyncTarget;
    hit('S9-resume', true);
  }

  return { state: ns, warnings, applied };
}
