// DRBD 8.4 state names as they appear in /proc/drbd and drbdsetup output, with their ordinals
// (spec/states.md §1). src/state/enums.ts owns the state machine's enums; the renderers here take
// plain names so that src/status depends on nothing, and use the ordinals only where DRBD's own
// output compares states with < and >.

export const CONN_STATE_NAMES = [
  'StandAlone', 'Disconnecting', 'Unconnected', 'Timeout', 'BrokenPipe', 'NetworkFailure',
  'ProtocolError', 'TearDown', 'WFConnection', 'WFReportParams', 'Connected', 'StartingSyncS',
  'StartingSyncT', 'WFBitMapS', 'WFBitMapT', 'WFSyncUUID', 'SyncSource', 'SyncTarget', 'VerifyS',
  'VerifyT', 'PausedSyncS', 'PausedSyncT', 'Ahead', 'Behind',
] as const;
export type ConnStateName = (typeof CONN_STATE_NAMES)[number];

export const DISK_STATE_NAMES = [
  'Diskless', 'Attaching', 'Failed', 'Negotiating', 'Inconsistent', 'Outdated', 'DUnknown',
  'Consistent', 'UpToDate',
] as const;
export type DiskStateName = (typeof DISK_STATE_NAMES)[number];

export const ROLE_NAMES = ['Unknown', 'Primary', 'Secondary'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

export function connOrdinal(cs: ConnStateName): number {
  const i = CONN_STATE_NAMES.indexOf(cs);
  if (i < 0) throw new TypeError(`unknown connection state ${String(cs)}`);
  return i;
}

export function diskOrdinal(ds: DiskStateName): number {
  const i = DISK_STATE_NAMES.indexOf(ds);
  if (i < 0) throw new TypeError(`unknown disk state ${String(ds)}`);
  return i;
}

export function roleOrdinal(ro: RoleName): number {
  const i = ROLE_NAMES.indexOf(ro);
  if (i < 0) throw new TypeError(`unknown role ${String(ro)}`);
  return i;
}

/** The states in which /proc/drbd prints the two progress lines (not the paused ones). */
export function showsProgress(cs: ConnStateName): boolean {
  return cs === 'SyncSource' || cs === 'SyncTarget' || cs === 'VerifyS' || cs === 'VerifyT';
}

export function isVerify(cs: ConnStateName): boolean {
  return cs === 'VerifyS' || cs === 'VerifyT';
}

/** "Sync states" SyncSource..PausedSyncT (16–21), verify included. */
export function isSyncState(cs: ConnStateName): boolean {
  const o = connOrdinal(cs);
  return o >= connOrdinal('SyncSource') && o <= connOrdinal('PausedSyncT');
}

/** The side that generates resync/verify requests and so owns the rate controller (`want:`). */
export function isRequestingSide(cs: ConnStateName): boolean {
  return cs === 'SyncTarget' || cs === 'VerifyS';
}
