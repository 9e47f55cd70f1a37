// Result codes of state changes (SS_*) and of configuration requests (ERR_*), their texts, and
// how drbdsetup reports them (states.md §4, wire-protocol-84.md §5.3).

/** State-change results; values as on the wire (P_STATE_CHG_REPLY retcode). */
export enum SS {
  CwNoNeed = 4,
  CwSuccess = 3,
  NothingToDo = 2,
  Success = 1,
  UnknownError = 0,
  TwoPrimaries = -1,
  NoUpToDateDisk = -2,
  NoLocalDisk = -4,
  NoRemoteDisk = -5,
  ConnectedOutdates = -6,
  PrimaryNop = -7,
  ResyncRunning = -8,
  AlreadyStandalone = -9,
  CwFailedByPeer = -10,
  IsDiskless = -11,
  DeviceInUse = -12,
  NoNetConfig = -13,
  NoVerifyAlg = -14,
  NeedConnection = -15,
  LowerThanOutdated = -16,
  NotSupported = -17,
  InTransientState = -18,
  ConcurrentStChg = -19,
  OVolPeerPri = -20,
  OutdateWoConn = -21,
}

const SS_NAMES: Record<SS, string> = {
  [SS.CwNoNeed]: 'SS_CW_NO_NEED',
  [SS.CwSuccess]: 'SS_CW_SUCCESS',
  [SS.NothingToDo]: 'SS_NOTHING_TO_DO',
  [SS.Success]: 'SS_SUCCESS',
  [SS.UnknownError]: 'SS_UNKNOWN_ERROR',
  [SS.TwoPrimaries]: 'SS_TWO_PRIMARIES',
  [SS.NoUpToDateDisk]: 'SS_NO_UP_TO_DATE_DISK',
  [SS.NoLocalDisk]: 'SS_NO_LOCAL_DISK',
  [SS.NoRemoteDisk]: 'SS_NO_REMOTE_DISK',
  [SS.ConnectedOutdates]: 'SS_CONNECTED_OUTDATES',
  [SS.PrimaryNop]: 'SS_PRIMARY_NOP',
  [SS.ResyncRunning]: 'SS_RESYNC_RUNNING',
  [SS.AlreadyStandalone]: 'SS_ALREADY_STANDALONE',
  [SS.CwFailedByPeer]: 'SS_CW_FAILED_BY_PEER',
  [SS.IsDiskless]: 'SS_IS_DISKLESS',
  [SS.DeviceInUse]: 'SS_DEVICE_IN_USE',
  [SS.NoNetConfig]: 'SS_NO_NET_CONFIG',
  [SS.NoVerifyAlg]: 'SS_NO_VERIFY_ALG',
  [SS.NeedConnection]: 'SS_NEED_CONNECTION',
  [SS.LowerThanOutdated]: 'SS_LOWER_THAN_OUTDATED',
  [SS.NotSupported]: 'SS_NOT_SUPPORTED',
  [SS.InTransientState]: 'SS_IN_TRANSIENT_STATE',
  [SS.ConcurrentStChg]: 'SS_CONCURRENT_ST_CHG',
  [SS.OVolPeerPri]: 'SS_O_VOL_PEER_PRI',
  [SS.OutdateWoConn]: 'SS_OUTDATE_WO_CONN',
};

/** Texts of the refusals (states.md §4 "SS texts"); the kernel log uses the same words. */
const SS_TEXTS: Partial<Record<SS, string>> = {
  [SS.TwoPrimaries]: 'Multiple primaries not allowed by config',
  [SS.NoUpToDateDisk]: 'Need access to UpToDate data',
  [SS.NoLocalDisk]: 'Can not resync without local disk',
  [SS.NoRemoteDisk]: 'Can not resync without remote disk',
  [SS.ConnectedOutdates]: 'Refusing to be Outdated while Connected',
  [SS.PrimaryNop]: 'Refusing to be Primary while peer is not outdated',
  [SS.ResyncRunning]: 'Can not start OV/resync since it is already active',
  [SS.AlreadyStandalone]: 'Can not disconnect a StandAlone device',
  [SS.CwFailedByPeer]: 'State change was refused by peer node',
  [SS.IsDiskless]: 'Device is diskless, the requested operation requires a disk',
  [SS.DeviceInUse]: 'Device is held open by someone',
  [SS.NoNetConfig]: 'Have no net/connection configuration',
  [SS.NoVerifyAlg]: 'Need a verify algorithm to start online verify',
  [SS.NeedConnection]: 'Need a connection to start verify or resync',
  [SS.LowerThanOutdated]: 'Disk state is lower than outdated',
  [SS.NotSupported]: 'Peer does not support protocol',
  [SS.InTransientState]: 'In transient state, retry after next state change',
  [SS.ConcurrentStChg]: 'Concurrent state changes detected and aborted',
  [SS.OVolPeerPri]: 'Other vol primary on peer not allowed by config',
  [SS.OutdateWoConn]: 'Need a connection for a graceful disconnect/outdate peer',
};

export function ssName(code: SS): string {
  return SS_NAMES[code];
}

/** The refusal text of an SS_* code < 0; 'unknown error.' for 0; '' for successes. */
export function ssText(code: SS): string {
  if (code === SS.UnknownError) return 'unknown error.';
  return SS_TEXTS[code] ?? '';
}

/** A requester treats ≥ SS_SUCCESS as success (wire-protocol-84.md §5.3). */
export function ssIsSuccess(code: number): boolean {
  return code >= SS.Success;
}

/** Every refusal code, for tables and tests. */
export const SS_FAILURE_CODES: readonly SS[] = (Object.values(SS).filter((v) => typeof v === 'number') as SS[])
  .filter((c) => c < 0)
  .sort((a, b) => b - a);

/** Configuration-request errors (ERR_*) used by udrbd's commands, with drbdsetup's texts. */
export enum ERR {
  LocalAddr = 102,
  MdInvalid = 119,
  DiscardNotAllowed = 123,
  DiskConfigured = 124,
  NetConfigured = 125,
  MinorInvalid = 127,
  ResyncAfter = 132,
  ResyncAfterCycle = 133,
  PauseIsSet = 134,
  PauseIsClear = 135,
  NoDiskConfig = 138,
  NotProtoC = 139,
  NeedStandalone = 151,
  PicAfterDep = 156,
  PicPeerDep = 157,
  InvalidRequest = 162,
  MdUnclean = 165,
}

const ERR_TEXTS: Record<ERR, string> = {
  // Captured (cli-errors-01-outputs.txt).
  [ERR.LocalAddr]: 'Local address(port) already in use.',
  [ERR.MdInvalid]:
    "No valid meta-data signature found.\n\n\t==> Use 'drbdadm create-md res' to initialize meta-data area. <==\n",
  [ERR.DiscardNotAllowed]: '--discard-my-data not allowed when primary.',
  [ERR.DiskConfigured]: 'Device is attached to a disk (use detach first)',
  [ERR.NetConfigured]: 'Device has a net-config (use disconnect first)',
  [ERR.MinorInvalid]: 'Device minor not allocated',
  // 132/133: wording not in the spec; drbd-utils' texts as remembered (see report).
  [ERR.ResyncAfter]: 'The sync-after minor number is invalid',
  [ERR.ResyncAfterCycle]: 'This would cause a sync-after dependency cycle',
  [ERR.PauseIsSet]: 'Sync-pause flag is already set',
  [ERR.PauseIsClear]: 'Sync-pause flag is already cleared',
  [ERR.NoDiskConfig]: 'Device does not have a disk-config',
  [ERR.NotProtoC]: 'Protocol C required',
  [ERR.NeedStandalone]: 'Need to be StandAlone',
  [ERR.PicAfterDep]: 'Sync-pause flag is already cleared.\nNote: Resync pause caused by a local resync-after dependency.',
  [ERR.PicPeerDep]: 'Sync-pause flag is already cleared.\nNote: Resync pause caused by the peer node.',
  [ERR.InvalidRequest]: 'Invalid configuration request',
  [ERR.MdUnclean]: "Unclean meta-data found.\nYou need to 'drbdadm apply-al res'\n",
};

export function errText(code: ERR): string {
  return ERR_TEXTS[code];
}

export const ERR_CODES: readonly ERR[] = Object.values(ERR).filter((v) => typeof v === 'number') as ERR[];

/** drbdsetup's exit code for a kernel result (states.md §4). */
export function drbdsetupExitCode(code: number): number {
  if (code === SS.Success || code === SS.NothingToDo || code === SS.CwSuccess || code === SS.CwNoNeed) return 0;
  if (code >= 102) return 10; // ERR_*: "Failure: (n) text"
  if (code === SS.NoUpToDateDisk) return 17;
  if (code === SS.LowerThanOutdated) return 5;
  if (code === SS.NoLocalDisk) return 16;
  return 11; // every other SS_* ≤ 0, including SS_UNKNOWN_ERROR
}

/** Exit code of wait-connect / wait-sync on timeout (states.md §4). */
export const EXIT_WAIT_TIMEOUT = 5;

export interface DrbdsetupReport {
  /** stderr text (each line ends with \n); '' on success. */
  stderr: string;
  exitCode: number;
}

/**
 * What drbdsetup 8.4 prints for a kernel result: `<obj>: State change failed: (<n>) <text>`
 * or `<obj>: Failure: (<n>) <text>`, plus `additional info from kernel:` and the reason.
 * `obj` is the object argument as typed (minor `0` or resource name).
 */
export function drbdsetupReport(obj: string, code: number, kernelInfo?: string): DrbdsetupReport {
  const exitCode = drbdsetupExitCode(code);
  if (exitCode === 0) return { stderr: '', exitCode };
  let text: string;
  if (code >= 102) {
    const t = ERR_TEXTS[code as ERR] ?? 'Unknown error';
    text = `${obj}: Failure: (${code}) ${t}`;
  } else if (code === SS.UnknownError) {
    text = `${obj}: State change failed: (0)unknown error.`;
  } else {
    text = `${obj}: State change failed: (${code}) ${ssText(code as SS)}`;
  }
  if (!text.endsWith('\n')) text += '\n';
  if (kernelInfo) text += `additional info from kernel:\n${kernelInfo}\n`;
  return { stderr: text, exitCode };
}

/**
 * drbdadm's wrapper line when a child exits with code ≥ 10 (states.md §4); undefined below 10.
 * argv[0] is the drbdsetup path drbdadm used.
 */
export function drbdadmChildFailureLine(argv: readonly string[], exitCode: number): string | undefined {
  if (exitCode < 10) return undefined;
  return `Command '${argv.join(' ')}' terminated with exit code ${exitCode}\n`;
}
