// State-change return codes carried in P_STATE_CHG_REPLY / P_CONN_ST_CHG_REPLY (s32, §5.3), with
// the texts drbdsetup prints for failures (states.md §4). A requester treats >= 1 as success.

export interface Retcode {
  readonly code: number;
  readonly name: string;
  /** DRBD's text for failures; null for the success codes, which have none. */
  readonly text: string | null;
}

export const RETCODES: readonly Retcode[] = [
  { code: 4, name: 'SS_CW_NO_NEED', text: null },
  { code: 3, name: 'SS_CW_SUCCESS', text: null },
  { code: 2, name: 'SS_NOTHING_TO_DO', text: null },
  { code: 1, name: 'SS_SUCCESS', text: null },
  { code: 0, name: 'SS_UNKNOWN_ERROR', text: 'unknown error.' },
  { code: -1, name: 'SS_TWO_PRIMARIES', text: 'Multiple primaries not allowed by config' },
  { code: -2, name: 'SS_NO_UP_TO_DATE_DISK', text: 'Need access to UpToDate data' },
  { code: -4, name: 'SS_NO_LOCAL_DISK', text: 'Can not resync without local disk' },
  { code: -5, name: 'SS_NO_REMOTE_DISK', text: 'Can not resync without remote disk' },
  { code: -6, name: 'SS_CONNECTED_OUTDATES', text: 'Refusing to be Outdated while Connected' },
  { code: -7, name: 'SS_PRIMARY_NOP', text: 'Refusing to be Primary while peer is not outdated' },
  { code: -8, name: 'SS_RESYNC_RUNNING', text: 'Can not start OV/resync since it is already active' },
  { code: -9, name: 'SS_ALREADY_STANDALONE', text: 'Can not disconnect a StandAlone device' },
  { code: -10, name: 'SS_CW_FAILED_BY_PEER', text: 'State change was refused by peer node' },
  { code: -11, name: 'SS_IS_DISKLESS', text: 'Device is diskless, the requested operation requires a disk' },
  { code: -12, name: 'SS_DEVICE_IN_USE', text: 'Device is held open by someone' },
  { code: -13, name: 'SS_NO_NET_CONFIG', text: 'Have no net/connection configuration' },
  { code: -14, name: 'SS_NO_VERIFY_ALG', text: 'Need a verify algorithm to start online verify' },
  { code: -15, name: 'SS_NEED_CONNECTION', text: 'Need a connection to start verify or resync' },
  { code: -16, name: 'SS_LOWER_THAN_OUTDATED', text: 'Disk state is lower than outdated' },
  { code: -17, name: 'SS_NOT_SUPPORTED', text: 'Peer does not support protocol' },
  { code: -18, name: 'SS_IN_TRANSIENT_STATE', text: 'In transient state, retry after next state change' },
  { code: -19, name: 'SS_CONCURRENT_ST_CHG', text: 'Concurrent state changes detected and aborted' },
  { code: -20, name: 'SS_O_VOL_PEER_PRI', text: 'Other vol primary on peer not allowed by config' },
  { code: -21, name: 'SS_OUTDATE_WO_CONN', text: 'Need a connection for a graceful disconnect/outdate peer' },
];

const byCode = new Map(RETCODES.map((r) => [r.code, r]));
const byName = new Map(RETCODES.map((r) => [r.name, r]));

/** Numeric constants by name, e.g. SS.SS_CW_FAILED_BY_PEER === -10. */
export const SS: Readonly<Record<string, number>> = Object.freeze(Object.fromEntries(RETCODES.map((r) => [r.name, r.code])));

export function retcodeByCode(code: number): Retcode | undefined {
  return byCode.get(code);
}

export function retcodeByName(name: string): Retcode | undefined {
  return byName.get(name);
}

export function isSuccess(code: number): boolean {
  return code >= 1;
}
