// DRBD 8.4 state names as they appear in /proc/drbd and drbdsetup output. The renderers take plain
// names (the enum keys of src/state, which are DRBD's own names); the ordinals are src/state's
// enum values, used only where DRBD's own output compares states with < and >.
import { ConnState, DiskState, Role } from '../state/enums.js';
import { isSyncState as isSyncConnState, isVerifyState } from '../state/state.js';

export type ConnStateName = keyof typeof ConnState;
export type DiskStateName = keyof typeof DiskState;
export type RoleName = keyof typeof Role;

/** The connection state of a name; a TypeError for a name DRBD 8.4 does not have. */
export function connState(cs: ConnStateName): ConnState {
  const v: unknown = (ConnState as Record<string, unknown>)[cs];
  if (typeof v !== 'number') throw new TypeError(`unknown connection state ${String(cs)}`);
  return v;
}

/** The states in which /proc/drbd prints the two progress lines (not the paused ones). */
export function showsProgress(cs: ConnStateName): boolean {
  return cs === 'SyncSource' || cs === 'SyncTarget' || cs === 'VerifyS' || cs === 'VerifyT';
}

export function isVerify(cs: ConnStateName): boolean {
  return isVerifyState(ConnState[cs]);
}

/** "Sync states" SyncSource..PausedSyncT (16–21), verify included. */
export function isSyncState(cs: ConnStateName): boolean {
  return isSyncConnState(connState(cs));
}

/** The side that generates resync/verify requests and so owns the rate controller (`want:`). */
export function isRequestingSide(cs: ConnStateName): boolean {
  return cs === 'SyncTarget' || cs === 'VerifyS';
}
