// Pause flags, pause-sync / resume-sync and the resync-after dependency (resync.md §7).
import { ConnState, DiskState } from './enums.js';
import { ERR, SS } from './errors.js';
import { isSyncState, type DeviceState, type StateContext } from './state.js';
import { requestStateChange, type StateChangeResult } from './transitions.js';

/** Largest minor number (MINORMASK); resync-after beyond it is out of range. */
export const MAX_MINOR = (1 << 20) - 1;

/** What the dependency rules read of each device. */
export interface ResyncAfterDevice {
  state: DeviceState;
  /** resync-after minor, −1 = none. */
  resyncAfter: number;
}

export type DeviceTable = ReadonlyMap<number, ResyncAfterDevice>;

/**
 * _drbd_may_sync_now: follow the chain of resync-after dependencies; the device may sync unless
 * a device up the chain is in a sync state or has a pause flag. The chain stops at a diskless or
 * missing minor (and at −1).
 */
export function maySyncNow(minor: number, devices: DeviceTable): boolean {
  let dev = devices.get(minor);
  const seen = new Set<number>();
  while (dev) {
    if (dev.state.disk === DiskState.Diskless) return true;
    if (dev.resyncAfter === -1 || seen.has(dev.resyncAfter)) return true;
    seen.add(dev.resyncAfter);
    const other = devices.get(dev.resyncAfter);
    if (!other) return true;
    const s = other.state;
    if (isSyncState(s.conn) || s.aftrIsp || s.peerIsp || s.userIsp) return false;
    dev = other;
  }
  return true;
}

/** The connection state a change of aftr_isp implies (sanitize rule 9, kept local here). */
function withAftrIsp(s: DeviceState, aftrIsp: boolean): DeviceState {
  const ns = { ...s, aftrIsp };
  const paused = ns.aftrIsp || ns.peerIsp || ns.userIsp;
  if (paused && ns.conn === ConnState.SyncSource) ns.conn = ConnState.PausedSyncS;
  else if (paused && ns.conn === ConnState.SyncTarget) ns.conn = ConnState.PausedSyncT;
  else if (!paused && ns.conn === ConnState.PausedSyncS) ns.conn = ConnState.SyncSource;
  else if (!paused && ns.conn === ConnState.PausedSyncT) ns.conn = ConnState.SyncTarget;
  return ns;
}

const unconfigured = (s: DeviceState): boolean => s.conn === ConnState.StandAlone && s.disk === DiskState.Diskless;

/**
 * Re-evaluates every device's aftr_isp until stable: pause each device that may not sync now,
 * resume each paused one that may. Evaluated at resync start and whenever a resync ends or a
 * pause flag is cleared. Returns the minors whose aftr_isp must change, with the new value, in
 * the order found.
 */
export function evaluateResyncAfter(devices: DeviceTable): Map<number, boolean> {
  const work = new Map<number, ResyncAfterDevice>(devices);
  const changes = new Map<number, boolean>();
  const minors = [...work.keys()].sort((a, b) => a - b);
  const set = (minor: number, v: boolean): void => {
    const d = work.get(minor)!;
    work.set(minor, { ...d, state: withAftrIsp(d.state, v) });
    if (devices.get(minor)!.state.aftrIsp === v) changes.delete(minor);
    else changes.set(minor, v);
  };
  for (let rounds = 0; rounds <= 2 * minors.length + 2; rounds++) {
    let changed = false;
    for (const m of minors) {
      const d = work.get(m)!;
      if (unconfigured(d.state) || d.state.aftrIsp) continue;
      if (!maySyncNow(m, work)) {
        set(m, true);
        changed = true;
      }
    }
    for (const m of minors) {
      const d = work.get(m)!;
      if (unconfigured(d.state) || !d.state.aftrIsp) continue;
      if (maySyncNow(m, work)) {
        set(m, false);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return changes;
}

/**
 * Validates a new resync-after value for `minor`: −1 is none; out of range ⇒ ERR_RESYNC_AFTER
 * (132); a dependency chain leading back to `minor` ⇒ ERR_RESYNC_AFTER_CYCLE (133). Depending on
 * diskless or missing minors is allowed (the chain cannot be followed beyond them).
 */
export function validateResyncAfter(minor: number, after: number, devices: DeviceTable): ERR | undefined {
  if (after === -1) return undefined;
  if (after < -1 || after > MAX_MINOR || !Number.isInteger(after)) return ERR.ResyncAfter;
  let cur: number = after;
  for (let steps = 0; steps <= devices.size + 1; steps++) {
    if (cur === minor) return ERR.ResyncAfterCycle;
    const d = devices.get(cur);
    if (!d || d.state.disk === DiskState.Diskless) return undefined;
    if (d.resyncAfter === -1) return undefined;
    cur = d.resyncAfter;
  }
  // A pre-existing loop not involving `minor` (cannot be built through this check).
  return undefined;
}

export interface PauseResult {
  ok: boolean;
  /** The ERR_* code drbdsetup reports when the flag was already in the wanted state. */
  err?: ERR;
  /** The state change itself (refused with an SS_* code, or accepted). */
  result: StateChangeResult;
}

/** pause-sync: user_isp := 1; already set ⇒ ERR_PAUSE_IS_SET (134). */
export function pauseSync(current: DeviceState, ctx: StateContext): PauseResult {
  const result = requestStateChange(current, { userIsp: true }, { ctx });
  if (result.code === SS.NothingToDo) return { ok: false, err: ERR.PauseIsSet, result };
  return { ok: result.ok, result };
}

/**
 * resume-sync: user_isp := 0; already clear ⇒ 135, or — when the resync is still paused for
 * another reason — 156 (local resync-after dependency) / 157 (the peer).
 */
export function resumeSync(current: DeviceState, ctx: StateContext): PauseResult {
  const result = requestStateChange(current, { userIsp: false }, { ctx });
  if (result.code !== SS.NothingToDo) return { ok: result.ok, result };
  const paused = current.conn === ConnState.PausedSyncS || current.conn === ConnState.PausedSyncT;
  if (paused && current.aftrIsp) return { ok: false, err: ERR.PicAfterDep, result };
  if (paused && current.peerIsp) return { ok: false, err: ERR.PicPeerDep, result };
  return { ok: false, err: ERR.PauseIsClear, result };
}
