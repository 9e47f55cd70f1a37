// The generation-UUID set and every operation on it (handshake-and-split-brain.md §1–2).
// Values are 64-bit unsigned bigints; functions return a new set plus the kernel's log lines.
import { ConnState, DiskState, Role } from './enums.js';
import { ERR } from './errors.js';

/** [Current, Bitmap, History-1 (younger), History-2 (older)]. */
export type Uuids = readonly [bigint, bigint, bigint, bigint];

export const UI_CURRENT = 0;
export const UI_BITMAP = 1;
export const UI_HISTORY_START = 2;
export const UI_HISTORY_END = 3;
export type UuidIndex = 0 | 1 | 2 | 3;

/** Written by create-md. */
export const UUID_JUST_CREATED = 4n;
/** Added to a Bitmap UUID to derive the next sync UUID. */
export const UUID_NEW_BM_OFFSET = 0x0001000000000000n;
const MASK64 = (1n << 64n) - 1n;

/** P_UUIDS flag bits (UI_FLAGS). */
export const UUID_FLAG_DISCARD_MY_DATA = 1;
export const UUID_FLAG_CRASHED_PRIMARY = 2;
export const UUID_FLAG_INCONSISTENT = 4;
export const UUID_FLAG_SKIP_INITIAL_SYNC = 8;

/** A source of 64-bit random values (the caller injects crypto; tests inject a sequence). */
export type RandomUuid = () => bigint;

export interface UuidResult {
  uuids: Uuids;
  /** Kernel log lines (`new current UUID …`, `updated sync UUID …`, warnings). */
  log: string[];
  /** The change must be written to meta-data now (new_current / sync UUID / resync end). */
  writeMetaData: boolean;
}

export function createMdUuids(): Uuids {
  return [UUID_JUST_CREATED, 0n, 0n, 0n];
}

/** `%016llX` */
export function formatUuid(v: bigint): string {
  return (v & MASK64).toString(16).toUpperCase().padStart(16, '0');
}

/** `CUR:BM:H1:H2` as the kernel and get-gi print it. */
export function formatUuids(u: Uuids): string {
  return u.map(formatUuid).join(':');
}

/** Bit 0 of Current says "was Primary when written"; comparisons ignore it. */
export function maskBit0(v: bigint): bigint {
  return v & (MASK64 ^ 1n);
}

function withRoleBit(v: bigint, role: Role): bigint {
  return role === Role.Primary ? (v & MASK64) | 1n : maskBit0(v);
}

function replace(u: Uuids, idx: UuidIndex, v: bigint): Uuids {
  const out = [...u] as [bigint, bigint, bigint, bigint];
  out[idx] = v & MASK64;
  return out;
}

/** raw set: uuid[idx] := v without history rotation (Current gets the role's bit 0). */
export function rawSet(u: Uuids, idx: UuidIndex, v: bigint, role: Role): Uuids {
  return replace(u, idx, idx === UI_CURRENT ? withRoleBit(v, role) : v);
}

/** set(idx, v): a non-zero old value moves into History-1 (History-1 into History-2). */
export function setUuid(u: Uuids, idx: UuidIndex, v: bigint, role: Role): Uuids {
  let out = u;
  if (u[idx] !== 0n) {
    out = replace(out, UI_HISTORY_END, out[UI_HISTORY_START]);
    out = replace(out, UI_HISTORY_START, u[idx]);
  }
  return rawSet(out, idx, v, role);
}

/** set_bm(v): v == 0 rotates a non-zero Bitmap into history; v ≠ 0 stores v without bit 0. */
export function setBitmapUuid(u: Uuids, v: bigint): { uuids: Uuids; log: string[] } {
  if (v === 0n) {
    if (u[UI_BITMAP] === 0n) return { uuids: u, log: [] };
    let out = replace(u, UI_HISTORY_END, u[UI_HISTORY_START]);
    out = replace(out, UI_HISTORY_START, u[UI_BITMAP]);
    return { uuids: replace(out, UI_BITMAP, 0n), log: [] };
  }
  const log = u[UI_BITMAP] !== 0n ? [bmAlreadySet(u[UI_BITMAP])] : [];
  return { uuids: replace(u, UI_BITMAP, maskBit0(v)), log };
}

function bmAlreadySet(bm: bigint): string {
  return `bm UUID was already set: ${bm.toString(16).toUpperCase()}`;
}

/** new_current: Bitmap := Current, Current := random (bit 0 per role); history untouched. */
export function newCurrentUuid(u: Uuids, role: Role, rand: RandomUuid): UuidResult {
  const log = u[UI_BITMAP] !== 0n ? [bmAlreadySet(u[UI_BITMAP])] : [];
  let out = replace(u, UI_BITMAP, u[UI_CURRENT]);
  out = rawSet(out, UI_CURRENT, rand(), role);
  log.push(`new current UUID ${formatUuids(out)}`);
  return { uuids: out, log, writeMetaData: true };
}

const unchanged = (u: Uuids): UuidResult => ({ uuids: u, log: [], writeMetaData: false });

// ---------------------------------------------------------------------------------------------
// Events (handshake-and-split-brain.md §2).

export interface PromoteInput {
  /** State after the promotion. */
  conn: ConnState;
  pdsk: DiskState;
  /** `primary --force` was needed (disk forced to UpToDate). */
  forced: boolean;
}

/**
 * Promotion: a forced Primary always starts a new generation; an unforced one does when it is
 * alone (not connected or peer disk ≤ Failed) and no Bitmap UUID is set; then bit 0 := 1.
 */
export function onPromote(u: Uuids, p: PromoteInput, rand: RandomUuid): UuidResult {
  const alone = p.conn < ConnState.Connected || p.pdsk <= DiskState.Failed;
  let r: UuidResult = unchanged(u);
  if (p.forced || (alone && u[UI_BITMAP] === 0n)) r = newCurrentUuid(u, Role.Primary, rand);
  return { ...r, uuids: rawSet(r.uuids, UI_CURRENT, r.uuids[UI_CURRENT], Role.Primary) };
}

/** Demotion: bit 0 of Current := 0. */
export function onDemote(u: Uuids): UuidResult {
  return { uuids: rawSet(u, UI_CURRENT, u[UI_CURRENT], Role.Secondary), log: [], writeMetaData: true };
}

export interface LostPeerDataInput {
  role: Role;
  peer: Role;
  disk: DiskState;
  /** I/O is suspended: the new UUID is generated only when I/O resumes. */
  ioSuspended: boolean;
}

export interface DeferrableUuidResult extends UuidResult {
  /** A new current UUID is due but waits for I/O to resume (call onIoResumed then). */
  deferred: boolean;
}

/**
 * Lost contact to the peer's data while I or the peer is Primary: a node with UpToDate data and
 * no Bitmap UUID starts a new generation, so later writes are told apart at the next handshake.
 */
export function onLostPeerData(u: Uuids, s: LostPeerDataInput, rand: RandomUuid): DeferrableUuidResult {
  const due =
    (s.role === Role.Primary || s.peer === Role.Primary) &&
    u[UI_BITMAP] === 0n &&
    s.disk === DiskState.UpToDate;
  if (!due) return { ...unchanged(u), deferred: false };
  if (s.ioSuspended) return { ...unchanged(u), deferred: true };
  return { ...newCurrentUuid(u, s.role, rand), deferred: false };
}

/** The peer became Primary with a Diskless disk: same rule from the Secondary's side. */
export function onPeerPromotedDiskless(u: Uuids, s: { role: Role; disk: DiskState }, rand: RandomUuid): UuidResult {
  if (u[UI_BITMAP] !== 0n || s.disk !== DiskState.UpToDate) return unchanged(u);
  return newCurrentUuid(u, s.role, rand);
}

/** A deferred new current UUID when I/O resumes (§2 "delayed until I/O is resumed"). */
export function onIoResumed(u: Uuids, role: Role, rand: RandomUuid): UuidResult {
  return newCurrentUuid(u, role, rand);
}

export interface SyncUuidResult extends UuidResult {
  /** The value for P_SYNC_UUID. */
  syncUuid: bigint;
}

/**
 * Resync start on the SyncSource: sync UUID := Bitmap + 0x0001000000000000, or random when the
 * Bitmap UUID is 0 or UUID_JUST_CREATED; set(Bitmap, S).
 */
export function onSyncStartAsSource(u: Uuids, role: Role, rand: RandomUuid): SyncUuidResult {
  const bm = u[UI_BITMAP];
  const s = bm !== 0n && bm !== UUID_JUST_CREATED ? (bm + UUID_NEW_BM_OFFSET) & MASK64 : rand() & MASK64;
  const out = setUuid(u, UI_BITMAP, s, role);
  return { uuids: out, log: [`updated sync UUID ${formatUuids(out)}`], writeMetaData: true, syncUuid: s };
}

/** P_SYNC_UUID received (SyncTarget): raw Current := S, raw Bitmap := 0. */
export function onSyncUuidReceived(u: Uuids, syncUuid: bigint, role: Role): UuidResult {
  let out = rawSet(u, UI_CURRENT, syncUuid, role);
  out = rawSet(out, UI_BITMAP, 0n, role);
  return { uuids: out, log: [`updated sync uuid ${formatUuids(out)}`], writeMetaData: true };
}

export interface ResyncFinishedResult extends UuidResult {
  /** What we now assume the peer's UUIDs are (equal to our own). */
  peerUuids: Uuids;
}

/**
 * Successful resync end on the SyncTarget: take the peer's Bitmap/History (as last received),
 * push our Current (the sync UUID) into Bitmap, take the peer's Current, then set_bm(0).
 */
export function onResyncFinishedTarget(u: Uuids, peer: Uuids, role: Role): ResyncFinishedResult {
  let out: Uuids = [u[0], peer[1], peer[2], peer[3]];
  out = setUuid(out, UI_BITMAP, out[UI_CURRENT], role);
  out = rawSet(out, UI_CURRENT, peer[UI_CURRENT], role);
  const bm = setBitmapUuid(out, 0n);
  return {
    uuids: bm.uuids,
    log: [...bm.log, `updated UUIDs ${formatUuids(bm.uuids)}`],
    writeMetaData: true,
    peerUuids: bm.uuids,
  };
}

/** Successful resync end on the SyncSource: set_bm(0). */
export function onResyncFinishedSource(u: Uuids): ResyncFinishedResult {
  const bm = setBitmapUuid(u, 0n);
  return {
    uuids: bm.uuids,
    log: [...bm.log, `updated UUIDs ${formatUuids(bm.uuids)}`],
    writeMetaData: true,
    peerUuids: bm.uuids,
  };
}

// ---------------------------------------------------------------------------------------------
// `new-current-uuid [--clear-bitmap]` (states.md §5, handshake-and-split-brain.md §2).

export interface NewCurrentUuidCommandInput {
  uuids: Uuids;
  role: Role;
  conn: ConnState;
  /** A local disk is attached (disk > Diskless). */
  hasDisk: boolean;
  agreedProtocol: number;
  clearBitmap: boolean;
}

export type NewCurrentUuidCommandResult =
  | { ok: false; err: ERR.NoDiskConfig | ERR.NeedStandalone }
  | {
      ok: true;
      uuids: Uuids;
      log: string[];
      /** Clear every bitmap bit and write the bitmap. */
      clearBitmap: boolean;
      /**
       * Skip-initial-sync: send P_UUIDS with flag 8 (the uuids *before* the final raw Bitmap := 0,
       * i.e. `sendUuids`), then request disk := UpToDate, pdsk := UpToDate.
       */
      skipInitialSync: boolean;
      sendUuids?: Uuids;
    };

export function newCurrentUuidCommand(
  input: NewCurrentUuidCommandInput,
  rand: RandomUuid,
): NewCurrentUuidCommandResult {
  if (!input.hasDisk) return { ok: false, err: ERR.NoDiskConfig };
  const skip =
    input.conn === ConnState.Connected &&
    input.agreedProtocol >= 90 &&
    maskBit0(input.uuids[UI_CURRENT]) === UUID_JUST_CREATED &&
    input.clearBitmap;
  if (!skip && input.conn !== ConnState.StandAlone) return { ok: false, err: ERR.NeedStandalone };
  const log = skip ? ['Preparing to skip initial sync'] : [];
  const rotated = setUuid(input.uuids, UI_BITMAP, 0n, input.role);
  const nc = newCurrentUuid(rotated, input.role, rand);
  log.push(...nc.log);
  if (!skip) return { ok: true, uuids: nc.uuids, log, clearBitmap: input.clearBitmap, skipInitialSync: false };
  const cleared = rawSet(nc.uuids, UI_BITMAP, 0n, input.role);
  log.push(`cleared bitmap UUID ${formatUuids(cleared)}`);
  return { ok: true, uuids: cleared, log, clearBitmap: true, skipInitialSync: true, sendUuids: nc.uuids };
}

export interface SkipInitialSyncReceiveInput {
  uuids: Uuids;
  role: Role;
  conn: ConnState;
  agreedProtocol: number;
  peerUuids: Uuids;
  peerFlags: number;
}

/**
 * P_UUIDS with flag 8 received by a node still at UUID_JUST_CREATED: accept the new current
 * UUID, clear the bitmap, both disks UpToDate. Returns undefined when it does not apply.
 */
export function onSkipInitialSyncReceived(
  input: SkipInitialSyncReceiveInput,
): { uuids: Uuids; log: string[]; clearBitmap: true; stateChange: { disk: DiskState; pdsk: DiskState } } | undefined {
  const applies =
    input.conn === ConnState.Connected &&
    input.agreedProtocol >= 90 &&
    input.uuids[UI_CURRENT] === UUID_JUST_CREATED &&
    (input.peerFlags & UUID_FLAG_SKIP_INITIAL_SYNC) !== 0;
  if (!applies) return undefined;
  let out = rawSet(input.uuids, UI_CURRENT, input.peerUuids[UI_CURRENT], input.role);
  out = rawSet(out, UI_BITMAP, 0n, input.role);
  return {
    uuids: out,
    log: ['Accepted new current UUID, preparing to skip initial sync'],
    clearBitmap: true,
    stateChange: { disk: DiskState.UpToDate, pdsk: DiskState.UpToDate },
  };
}

/** `self|peer %016llX:…:%016llX bits:%llu flags:%llX` (drbd_sync_handshake dump lines). */
export function uuidDumpLine(label: 'self' | 'peer', u: Uuids, bits: bigint | number, flags: bigint | number): string {
  return `${label} ${formatUuids(u)} bits:${BigInt(bits).toString()} flags:${BigInt(flags).toString(16).toUpperCase()}`;
}
