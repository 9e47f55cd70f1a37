// DRBD 8.4 state vocabulary. Names and ordinals are exactly DRBD 8.4's (states.md §1,
// wire-protocol-84.md §5.2): the rules compare these with < and >, and the wire codec
// (src/protocol) packs the ordinals into the P_STATE word, so never reorder.

/** Roles (`ro:`), wire bits 0–1 / 2–3. Unknown only for the peer while not connected. */
export enum Role {
  Unknown = 0,
  Primary = 1,
  Secondary = 2,
}

/** Connection states (`cs:`), wire bits 4–8. TearDown = 7 in 8.4 (DRBD 9 differs). */
export enum ConnState {
  StandAlone = 0,
  Disconnecting = 1,
  Unconnected = 2,
  Timeout = 3,
  BrokenPipe = 4,
  NetworkFailure = 5,
  ProtocolError = 6,
  TearDown = 7,
  WFConnection = 8,
  WFReportParams = 9,
  Connected = 10,
  StartingSyncS = 11,
  StartingSyncT = 12,
  WFBitMapS = 13,
  WFBitMapT = 14,
  WFSyncUUID = 15,
  SyncSource = 16,
  SyncTarget = 17,
  VerifyS = 18,
  VerifyT = 19,
  PausedSyncS = 20,
  PausedSyncT = 21,
  Ahead = 22,
  Behind = 23,
}

/** Disk states (`ds:`), wire bits 9–12 (disk) / 13–16 (pdsk). */
export enum DiskState {
  Diskless = 0,
  Attaching = 1,
  Failed = 2,
  Negotiating = 3,
  Inconsistent = 4,
  Outdated = 5,
  DUnknown = 6,
  Consistent = 7,
  UpToDate = 8,
}

/** `fencing` (disk section). Ordinals matter: rules test `fencing >= ResourceOnly`. */
export enum FencingPolicy {
  DontCare = 0,
  ResourceOnly = 1,
  ResourceAndStonith = 2,
}

/** after-sb-0pri/1pri/2pri, numbered as in P_PROTOCOL (wire-protocol-84.md §4.2). */
export enum AfterSbPolicy {
  Disconnect = 0,
  DiscardYoungerPrimary = 1,
  DiscardOlderPrimary = 2,
  DiscardZeroChanges = 3,
  DiscardLeastChanges = 4,
  DiscardLocal = 5,
  DiscardRemote = 6,
  Consensus = 7,
  DiscardSecondary = 8,
  CallPriLostAfterSb = 9,
  ViolentlyAs0p = 10,
}

/** rr-conflict (handshake-and-split-brain.md §5, step 8 of §4). */
export enum RrConflictPolicy {
  Disconnect = 0,
  CallPriLost = 1,
  Violently = 2,
}

/** on-no-data-accessible (options section). */
export enum OnNoDataAccessible {
  IoError = 0,
  SuspendIo = 1,
}

/** Replication protocol as numbered in P_PROTOCOL: 1 = A, 2 = B, 3 = C. */
export enum WireProtocol {
  A = 1,
  B = 2,
  C = 3,
}

/** The names the kernel and drbdsetup print (`cs:`, `ro:`, `ds:`); they equal the enum keys. */
export function roleName(r: Role): string {
  return Role[r];
}
export function connName(c: ConnState): string {
  return ConnState[c];
}
export function diskName(d: DiskState): string {
  return DiskState[d];
}

const AFTER_SB_NAMES: Record<AfterSbPolicy, string> = {
  [AfterSbPolicy.Disconnect]: 'disconnect',
  [AfterSbPolicy.DiscardYoungerPrimary]: 'discard-younger-primary',
  [AfterSbPolicy.DiscardOlderPrimary]: 'discard-older-primary',
  [AfterSbPolicy.DiscardZeroChanges]: 'discard-zero-changes',
  [AfterSbPolicy.DiscardLeastChanges]: 'discard-least-changes',
  [AfterSbPolicy.DiscardLocal]: 'discard-local',
  [AfterSbPolicy.DiscardRemote]: 'discard-remote',
  [AfterSbPolicy.Consensus]: 'consensus',
  [AfterSbPolicy.DiscardSecondary]: 'discard-secondary',
  [AfterSbPolicy.CallPriLostAfterSb]: 'call-pri-lost-after-sb',
  [AfterSbPolicy.ViolentlyAs0p]: 'violently-as0p',
};

/** drbd.conf spelling of an after-sb policy. */
export function afterSbPolicyName(p: AfterSbPolicy): string {
  return AFTER_SB_NAMES[p];
}

/**
 * Parses an after-sb-Npri value. `discard-node-NODENAME` is rewritten per host the way drbdadm
 * does (handshake-and-split-brain.md §5): discard-local on NODENAME, discard-remote elsewhere.
 * Returns undefined for an unknown word.
 */
export function parseAfterSbPolicy(word: string, thisHost: string): AfterSbPolicy | undefined {
  const prefix = 'discard-node-';
  if (word.startsWith(prefix) && word.length > prefix.length) {
    return word.slice(prefix.length) === thisHost ? AfterSbPolicy.DiscardLocal : AfterSbPolicy.DiscardRemote;
  }
  for (const [value, name] of Object.entries(AFTER_SB_NAMES)) {
    if (name === word) return Number(value) as AfterSbPolicy;
  }
  return undefined;
}

/** Parses rr-conflict (8.4 names). */
export function parseRrConflict(word: string): RrConflictPolicy | undefined {
  switch (word) {
    case 'disconnect':
      return RrConflictPolicy.Disconnect;
    case 'call-pri-lost':
      return RrConflictPolicy.CallPriLost;
    case 'violently':
      return RrConflictPolicy.Violently;
    default:
      return undefined;
  }
}
