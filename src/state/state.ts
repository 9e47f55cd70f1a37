// The per-device state (what P_STATE carries, states.md §1 / wire-protocol-84.md §5.1) and the
// context the state rules read besides it. Plain data only.
import {
  ConnState,
  DiskState,
  FencingPolicy,
  OnNoDataAccessible,
  Role,
} from './enums.js';

export interface DeviceState {
  role: Role;
  peer: Role;
  conn: ConnState;
  disk: DiskState;
  pdsk: DiskState;
  /** I/O suspended by the user (`suspend-io`). */
  susp: boolean;
  /** I/O suspended because no data is accessible (on-no-data-accessible suspend-io). */
  suspNod: boolean;
  /** I/O frozen while fence-peer runs (fencing resource-and-stonith). */
  suspFen: boolean;
  /** Resync paused by a resync-after dependency (`a`). */
  aftrIsp: boolean;
  /** Resync paused by the peer (`p`). */
  peerIsp: boolean;
  /** Resync paused by the user (`u`). */
  userIsp: boolean;
}

/** A state change request: the fields to set (DRBD's mask/val pair as a partial state). */
export type StateChange = Partial<DeviceState>;

/** Everything besides the state word that the state rules (states.md §2) look at. */
export interface StateContext {
  /** A net config exists (connect was given); rule 2.3/1 is skipped without it. */
  hasNetConfig: boolean;
  allowTwoPrimaries: boolean;
  /** Another volume of the same connection has a Primary peer (rule 2.3/1b). */
  otherVolumePeerPrimary: boolean;
  fencing: FencingPolicy;
  /** Configured verify-alg; '' = none (rule 2.3/10). */
  verifyAlg: string;
  /** Agreed protocol version of the connection, 0 when never connected (rule 2.3/11). */
  agreedProtocol: number;
  /** Number of openers of the device (rule 2.3/2). */
  openCount: number;
  onNoDataAccessible: OnNoDataAccessible;
  /**
   * Our P_STATE of a connection attempt was sent and the handshake is not over yet
   * (rule 2.4 "connection handshake in progress").
   */
  stateSent: boolean;
  /**
   * The disk/pdsk the node will have once negotiation ends (attach while Connected, states.md
   * §3 "Attach disk state"); used by sanitize rule 4 when the connection drops meanwhile.
   * Absent ⇒ the data changed meanwhile: Diskless ("Connection lost while negotiating").
   */
  preNegotiation?: { disk: DiskState; pdsk: DiskState };
}

/** A neutral context: single volume, no net config, nothing open, defaults of 8.4.7. */
export function defaultContext(overrides: Partial<StateContext> = {}): StateContext {
  return {
    hasNetConfig: false,
    allowTwoPrimaries: false,
    otherVolumePeerPrimary: false,
    fencing: FencingPolicy.DontCare,
    verifyAlg: '',
    agreedProtocol: 0,
    openCount: 0,
    onNoDataAccessible: OnNoDataAccessible.IoError,
    stateSent: false,
    ...overrides,
  };
}

/** The state of a freshly created minor: Secondary, StandAlone, Diskless (`cs:Unconfigured`). */
export function initialState(): DeviceState {
  return {
    role: Role.Secondary,
    peer: Role.Unknown,
    conn: ConnState.StandAlone,
    disk: DiskState.Diskless,
    pdsk: DiskState.DUnknown,
    susp: false,
    suspNod: false,
    suspFen: false,
    aftrIsp: false,
    peerIsp: false,
    userIsp: false,
  };
}

/** Shorthand used by callers and tests: initialState() with some fields set. */
export function makeState(fields: StateChange = {}): DeviceState {
  return { ...initialState(), ...fields };
}

export const STATE_FIELDS = [
  'role',
  'peer',
  'conn',
  'disk',
  'pdsk',
  'susp',
  'suspNod',
  'suspFen',
  'aftrIsp',
  'peerIsp',
  'userIsp',
] as const satisfies readonly (keyof DeviceState)[];

/** One field of the state word. */
export type StateField = (typeof STATE_FIELDS)[number];

export function statesEqual(a: DeviceState, b: DeviceState): boolean {
  return STATE_FIELDS.every((f) => a[f] === b[f]);
}

/** I/O is suspended for any reason (the `s`/`r` flag; is_susp). */
export function isSuspended(s: DeviceState): boolean {
  return s.susp || s.suspNod || s.suspFen;
}

/** "Sync states" = SyncSource..PausedSyncT (states.md §1). */
export function isSyncState(c: ConnState): boolean {
  return c >= ConnState.SyncSource && c <= ConnState.PausedSyncT;
}

export function isVerifyState(c: ConnState): boolean {
  return c === ConnState.VerifyS || c === ConnState.VerifyT;
}

export function isStartingSync(c: ConnState): boolean {
  return c === ConnState.StartingSyncS || c === ConnState.StartingSyncT;
}
