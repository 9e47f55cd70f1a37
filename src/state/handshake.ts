// drbd_uuid_compare and drbd_sync_handshake (handshake-and-split-brain.md §3–4): from both UUID
// sets to "who syncs from whom", with the kernel's log lines and the handlers to run.
import { afterSb0p, afterSb1p, afterSb2p } from './after-sb.js';
import { AfterSbPolicy, ConnState, DiskState, Role, RrConflictPolicy } from './enums.js';
import {
  maskBit0,
  UI_BITMAP,
  UI_CURRENT,
  UI_HISTORY_END,
  UI_HISTORY_START,
  UUID_FLAG_CRASHED_PRIMARY,
  UUID_FLAG_DISCARD_MY_DATA,
  UUID_FLAG_INCONSISTENT,
  UUID_JUST_CREATED,
  UUID_NEW_BM_OFFSET,
  uuidDumpLine,
  type Uuids,
} from './uuids.js';

/** Feature flag WRITE_SAME (P_CONNECTION_FEATURES), doubling as "supports rule 41". */
export const FF_WSAME = 4;
/** uuid_compare: both sides need protocol 91. */
export const HG_NEEDS_PROTO_91 = -1091;
/** uuid_compare rule 41 without FF_WSAME: needs protocol 101 + feature WRITE_SAME. */
export const HG_NEEDS_PROTO_101_WSAME = -(0x10000 | 101 | (FF_WSAME << 8));
export const HG_UNRELATED = -1000;
export const HG_SPLIT_BRAIN_AUTO = 100;
export const HG_SPLIT_BRAIN_DISCONNECT = -100;

export interface UuidCompareInput {
  self: Uuids;
  peer: Uuids;
  /** My set bitmap bits (printed in the correction dump of rules 34/71). */
  selfBits: bigint;
  /** The peer's UI_SIZE. */
  peerBits: bigint;
  /** The peer's UI_FLAGS. */
  peerFlags: number;
  /** MDF_CRASHED_PRIMARY or MDF_PRIMARY_IND was found at attach. */
  selfCrashedPrimary: boolean;
  role: Role;
  peerRole: Role;
  agreedProtocol: number;
  agreedFeatures: number;
  /** I hold RESOLVE_CONFLICTS. */
  resolveConflicts: boolean;
}

export interface UuidCompareResult {
  hg: number;
  rule: number;
  /** My UUIDs after a correction (rules 34, 71), else unchanged. */
  self: Uuids;
  /** My copy of the peer's UUIDs after a correction (rules 35, 51), else unchanged. */
  peer: Uuids;
  log: string[];
}

/** drbd_uuid_compare: the rules of §3 in order (first match wins). */
export function uuidCompare(input: UuidCompareInput): UuidCompareResult {
  let selfU = input.self;
  let peerU = input.peer;
  const log: string[] = [];
  const r = (hg: number, rule: number): UuidCompareResult => ({ hg, rule, self: selfU, peer: peerU, log });
  const m = maskBit0;
  const self = m(selfU[UI_CURRENT]);
  const peer = m(peerU[UI_CURRENT]);
  const J = UUID_JUST_CREATED;

  if (self === J && peer === J) return r(0, 10);
  if ((self === J || self === 0n) && peer !== J) return r(-2, 20);
  if (self !== J && (peer === J || peer === 0n)) return r(2, 30);

  if (self === peer) {
    // I was SyncSource and the peer already finished (its Bitmap is 0, mine is not).
    if (peerU[UI_BITMAP] === 0n && selfU[UI_BITMAP] !== 0n) {
      if (input.agreedProtocol < 91) return r(HG_NEEDS_PROTO_91, 34);
      if (
        m(selfU[UI_BITMAP]) === m(peerU[UI_HISTORY_START]) &&
        m(selfU[UI_HISTORY_START]) === m(peerU[UI_HISTORY_END])
      ) {
        selfU = [selfU[UI_CURRENT], 0n, selfU[UI_BITMAP], selfU[UI_HISTORY_START]];
        log.push('was SyncSource, missed the resync finished event, corrected myself:');
        log.push(uuidDumpLine('self', selfU, input.selfBits, 0));
        return r(1, 34);
      }
      log.push('was SyncSource (peer failed to write sync_uuid)');
      return r(1, 36);
    }
    // I was SyncTarget and finished, the peer did not see the end.
    if (selfU[UI_BITMAP] === 0n && peerU[UI_BITMAP] !== 0n) {
      if (input.agreedProtocol < 91) return r(HG_NEEDS_PROTO_91, 35);
      if (
        m(selfU[UI_HISTORY_START]) === m(peerU[UI_BITMAP]) &&
        m(selfU[UI_HISTORY_END]) === m(peerU[UI_HISTORY_START])
      ) {
        peerU = [peerU[UI_CURRENT], 0n, peerU[UI_BITMAP], peerU[UI_HISTORY_START]];
        log.push('was SyncTarget, peer missed the resync finished event, corrected peer:');
        log.push(uuidDumpLine('peer', peerU, input.peerBits, input.peerFlags));
        return r(-1, 35);
      }
      log.push('was SyncTarget (failed to write sync_uuid)');
      return r(-1, 37);
    }
    // Same data generation: only a crashed primary can have unreplicated writes.
    const rct = (input.selfCrashedPrimary ? 1 : 0) + (input.peerFlags & UUID_FLAG_CRASHED_PRIMARY);
    if (rct === 0) return r(0, 40);
    const iAmPrimary = input.role === Role.Primary;
    const peerIsPrimary = input.peerRole === Role.Primary;
    if (iAmPrimary || peerIsPrimary) {
      if ((input.agreedFeatures & FF_WSAME) === 0) return r(HG_NEEDS_PROTO_101_WSAME, 41);
      if (iAmPrimary && peerIsPrimary) return r(HG_SPLIT_BRAIN_DISCONNECT, 41);
      return r(iAmPrimary ? 1 : -1, 41);
    }
    if (rct === 1) return r(1, 40);
    if (rct === 2) return r(-1, 40);
    return r(input.resolveConflicts ? -1 : 1, 40);
  }

  if (self === m(peerU[UI_BITMAP])) return r(-1, 50);

  if (self === m(peerU[UI_HISTORY_START])) {
    const lostSyncUuid =
      input.agreedProtocol < 96
        ? m(selfU[UI_HISTORY_START]) === m(peerU[UI_HISTORY_END])
        : ((m(peerU[UI_HISTORY_START]) + UUID_NEW_BM_OFFSET) & ((1n << 64n) - 1n)) === m(peerU[UI_BITMAP]);
    if (lostSyncUuid) {
      // The peer started a resync as source but its P_SYNC_UUID never arrived: undo that.
      if (input.agreedProtocol < 91) return r(HG_NEEDS_PROTO_91, 51);
      peerU = [peerU[UI_CURRENT], peerU[UI_HISTORY_START], peerU[UI_HISTORY_END], peerU[UI_HISTORY_END]];
      log.push('Lost last syncUUID packet, corrected:');
      log.push(uuidDumpLine('peer', peerU, input.peerBits, input.peerFlags));
      return r(-1, 51);
    }
  }

  if (self === m(peerU[UI_HISTORY_START]) || self === m(peerU[UI_HISTORY_END])) return r(-2, 60);

  if (m(selfU[UI_BITMAP]) === peer) return r(1, 70);

  if (m(selfU[UI_HISTORY_START]) === peer) {
    const lostSyncUuid =
      input.agreedProtocol < 96
        ? m(selfU[UI_HISTORY_END]) === m(peerU[UI_HISTORY_START])
        : ((m(selfU[UI_HISTORY_START]) + UUID_NEW_BM_OFFSET) & ((1n << 64n) - 1n)) === m(selfU[UI_BITMAP]);
    if (lostSyncUuid) {
      // My last resync start as source did not reach the peer: undo it on my side.
      if (input.agreedProtocol < 91) return r(HG_NEEDS_PROTO_91, 71);
      selfU = [selfU[UI_CURRENT], selfU[UI_HISTORY_START], selfU[UI_HISTORY_END], selfU[UI_HISTORY_END]];
      log.push('Last syncUUID did not get through, corrected:');
      log.push(uuidDumpLine('self', selfU, input.selfBits, 0));
      return r(1, 71);
    }
  }

  if (peer === m(selfU[UI_HISTORY_START]) || peer === m(selfU[UI_HISTORY_END])) return r(2, 80);

  if (m(selfU[UI_BITMAP]) === m(peerU[UI_BITMAP]) && m(selfU[UI_BITMAP]) !== 0n) {
    return r(HG_SPLIT_BRAIN_AUTO, 90);
  }

  for (const i of [UI_HISTORY_START, UI_HISTORY_END] as const) {
    for (const j of [UI_HISTORY_START, UI_HISTORY_END] as const) {
      if (m(selfU[i]) === m(peerU[j])) return r(HG_SPLIT_BRAIN_DISCONNECT, 100);
    }
  }
  return r(HG_UNRELATED, 100);
}

// ---------------------------------------------------------------------------------------------
// drbd_sync_handshake (§4).

export interface SyncHandshakeNet {
  afterSb0p: AfterSbPolicy;
  afterSb1p: AfterSbPolicy;
  afterSb2p: AfterSbPolicy;
  rrConflict: RrConflictPolicy;
  alwaysAsbp: boolean;
  /** --discard-my-data was given for this connection. */
  discardMyData: boolean;
  /** connect --dry-run / --tentative. */
  dryRun: boolean;
}

export interface SyncHandshakeInput extends UuidCompareInput {
  /** My current disk state (Negotiating while an attach is being negotiated). */
  disk: DiskState;
  /** The disk state the attach will settle on; used instead of `disk` while Negotiating. */
  negotiatedDisk?: DiskState;
  /** The peer's disk state, with a Negotiating peer already resolved (effectivePeerDisk). */
  peerDisk: DiskState;
  net: SyncHandshakeNet;
  /** call-pri-lost-after-sb: try to demote this node; true on success. */
  tryDemote: () => boolean;
}

export type HandshakeHandler = 'initial-split-brain' | 'split-brain' | 'pri-lost' | 'pri-lost-after-sb';

export type HandshakeEvent =
  | { kind: 'log'; level: 'info' | 'warn' | 'err' | 'alert'; text: string }
  | { kind: 'handler'; name: HandshakeHandler };

export interface SyncHandshakeResult {
  /** The connection state to go to, or undefined: drop the connection (Disconnecting). */
  conn: ConnState.Connected | ConnState.WFBitMapS | ConnState.WFBitMapT | undefined;
  /** Final hg after overrides and policies. */
  hg: number;
  /** uuid_compare's hg and rule. */
  compareHg: number;
  rule: number;
  /** Set every bitmap bit and write the bitmap before the bitmap exchange. */
  fullSync: boolean;
  /** Log lines and handler calls in the kernel's order. */
  events: HandshakeEvent[];
  /** My UUIDs and my copy of the peer's after uuid_compare's corrections. */
  self: Uuids;
  peer: Uuids;
  /** call-pri-lost-after-sb demoted this node. */
  demoted: boolean;
  /** On failure with an attach being negotiated, the disk goes to Failed instead. */
  diskFailed: boolean;
  /** Id of the step that decided (for tests). */
  step: string;
}

/** A Negotiating peer's disk as seen from its P_UUIDS flag 4 (wire-protocol-84.md §5.3). */
export function effectivePeerDisk(peerDisk: DiskState, peerFlags: number): DiskState {
  if (peerDisk !== DiskState.Negotiating) return peerDisk;
  return (peerFlags & UUID_FLAG_INCONSISTENT) !== 0 ? DiskState.Inconsistent : DiskState.Consistent;
}

export function syncHandshake(input: SyncHandshakeInput): SyncHandshakeResult {
  const events: HandshakeEvent[] = [];
  const log = (level: 'info' | 'warn' | 'err' | 'alert', text: string): void => {
    events.push({ kind: 'log', level, text });
  };
  const handler = (name: HandshakeHandler): void => {
    events.push({ kind: 'handler', name });
  };
  const myDisk = input.disk === DiskState.Negotiating ? (input.negotiatedDisk ?? input.disk) : input.disk;
  const peerDisk = input.peerDisk;

  log('info', 'drbd_sync_handshake:');
  log('info', uuidDumpLine('self', input.self, input.selfBits, 0));
  log('info', uuidDumpLine('peer', input.peer, input.peerBits, input.peerFlags));

  const cmp = uuidCompare(input);
  for (const line of cmp.log) log('info', line);
  log('info', `uuid_compare()=${cmp.hg} by rule ${cmp.rule}`);

  let demoted = false;
  const finish = (conn: SyncHandshakeResult['conn'], hg: number, step: string, fullSync = false): SyncHandshakeResult => ({
    conn,
    hg,
    compareHg: cmp.hg,
    rule: cmp.rule,
    fullSync,
    events,
    self: cmp.self,
    peer: cmp.peer,
    demoted,
    diskFailed: conn === undefined && input.disk === DiskState.Negotiating,
    step,
  });

  let hg = cmp.hg;

  // 1. Unrelated data or a protocol too old to decide.
  if (hg === HG_UNRELATED) {
    log('alert', 'Unrelated data, aborting!');
    return finish(undefined, hg, '1-unrelated');
  }
  if (hg < -0x10000) {
    const v = -hg;
    log(
      'alert',
      `To resolve this both sides have to support at least protocol ${v & 0xff} and feature flags 0x${((v >> 8) & 0xff).toString(16)}`,
    );
    return finish(undefined, hg, '1-needs-features');
  }
  if (hg < HG_UNRELATED) {
    log('alert', `To resolve this both sides have to support at least protocol ${-hg - 1000}`);
    return finish(undefined, hg, '1-needs-protocol');
  }

  // 2. An Inconsistent disk never wins against a better one.
  if (
    (myDisk === DiskState.Inconsistent && peerDisk > DiskState.Inconsistent) ||
    (peerDisk === DiskState.Inconsistent && myDisk > DiskState.Inconsistent)
  ) {
    const full = hg === HG_SPLIT_BRAIN_DISCONNECT || Math.abs(hg) === 2;
    hg = myDisk > DiskState.Inconsistent ? 1 : -1;
    if (full) hg *= 2;
    log('info', `Becoming sync ${hg > 0 ? 'source' : 'target'} due to disk states.`);
  }

  // 3. Any split brain runs initial-split-brain first.
  if (Math.abs(hg) === 100) handler('initial-split-brain');

  // 4. Automatic recovery by the after-sb policies.
  if (hg === HG_SPLIT_BRAIN_AUTO || (hg === HG_SPLIT_BRAIN_DISCONNECT && input.net.alwaysAsbp)) {
    const pcount = (input.role === Role.Primary ? 1 : 0) + (input.peerRole === Role.Primary ? 1 : 0);
    const forced = hg === HG_SPLIT_BRAIN_DISCONNECT;
    const asbInput = {
      self: cmp.self,
      peer: cmp.peer,
      selfBits: input.selfBits,
      peerBits: input.peerBits,
      resolveConflicts: input.resolveConflicts,
      role: input.role,
      afterSb0p: input.net.afterSb0p,
      afterSb1p: input.net.afterSb1p,
      afterSb2p: input.net.afterSb2p,
      tryDemote: input.tryDemote,
    };
    const asb = pcount === 0 ? afterSb0p(asbInput) : pcount === 1 ? afterSb1p(asbInput) : afterSb2p(asbInput);
    for (const l of asb.log) log(l.level, l.text);
    if (asb.handler) handler(asb.handler);
    if (asb.demoted) demoted = true;
    hg = asb.hg;
    if (Math.abs(hg) < 100) {
      log(
        'warn',
        `Split-Brain detected, ${pcount} primaries, automatically solved. Sync from ${hg < 0 ? 'peer' : 'this'} node`,
      );
      if (forced) {
        log('warn', 'Doing a full sync, since UUIDs where ambiguous.');
        hg *= 2;
      }
    }
  }

  // 5. Manual recovery: exactly one side said --discard-my-data.
  if (hg === HG_SPLIT_BRAIN_DISCONNECT) {
    const peerDiscards = (input.peerFlags & UUID_FLAG_DISCARD_MY_DATA) !== 0;
    if (input.net.discardMyData && !peerDiscards) hg = -1;
    if (!input.net.discardMyData && peerDiscards) hg = 1;
    if (Math.abs(hg) < 100) {
      log('warn', `Split-Brain detected, manually solved. Sync from ${hg < 0 ? 'peer' : 'this'} node`);
    }
  }

  // 6. Unresolved split brain.
  if (hg === HG_SPLIT_BRAIN_DISCONNECT || hg === HG_SPLIT_BRAIN_AUTO) {
    log('alert', 'Split-Brain detected but unresolved, dropping connection!');
    handler('split-brain');
    return finish(undefined, hg, '6-split-brain-unresolved');
  }

  // 7. An inconsistent node cannot be the source.
  if (hg > 0 && myDisk <= DiskState.Inconsistent) {
    log('err', 'I shall become SyncSource, but I am inconsistent!');
    return finish(undefined, hg, '7-source-inconsistent');
  }

  // 8. A Primary with good data asked to become SyncTarget: rr-conflict. (A node that just
  // gave up the Primary role for call-pri-lost-after-sb is Secondary by now.)
  const roleNow = demoted ? Role.Secondary : input.role;
  if (hg < 0 && roleNow === Role.Primary && input.disk >= DiskState.Consistent) {
    switch (input.net.rrConflict) {
      case RrConflictPolicy.CallPriLost:
        handler('pri-lost');
        log('err', 'I shall become SyncTarget, but I am primary!');
        return finish(undefined, hg, '8-rr-call-pri-lost');
      case RrConflictPolicy.Disconnect:
        log('err', 'I shall become SyncTarget, but I am primary!');
        return finish(undefined, hg, '8-rr-disconnect');
      case RrConflictPolicy.Violently:
        log('warn', 'Becoming SyncTarget, violating the stable-dataassumption');
        break;
    }
  }

  // 9. Dry run: say what would happen, then drop the connection.
  if (input.net.dryRun) {
    if (hg === 0) log('info', 'dry-run connect: No resync, would become Connected immediately.');
    else {
      log(
        'info',
        `dry-run connect: Would become ${hg > 0 ? 'SyncSource' : 'SyncTarget'}, doing a ${Math.abs(hg) >= 2 ? 'full' : 'bit-map based'} resync.`,
      );
    }
    return finish(undefined, hg, '9-dry-run');
  }

  // 10. Full sync: every bit set.
  const fullSync = Math.abs(hg) >= 2;
  if (fullSync) log('info', 'Writing the whole bitmap, full sync required after drbd_sync_handshake.');

  // 11. The resulting connection state.
  if (hg > 0) return finish(ConnState.WFBitMapS, hg, '11-source', fullSync);
  if (hg < 0) return finish(ConnState.WFBitMapT, hg, '11-target', fullSync);
  if (input.selfBits > 0n) log('info', `No resync, but ${input.selfBits} bits in bitmap!`);
  return finish(ConnState.Connected, hg, '11-connected');
}

export const SYNC_HANDSHAKE_STEPS: readonly string[] = [
  '1-unrelated',
  '1-needs-features',
  '1-needs-protocol',
  '6-split-brain-unresolved',
  '7-source-inconsistent',
  '8-rr-call-pri-lost',
  '8-rr-disconnect',
  '9-dry-run',
  '11-source',
  '11-target',
  '11-connected',
];

/** Every (rule, hg) outcome of uuid_compare, for coverage checks. */
export const UUID_COMPARE_OUTCOMES: readonly string[] = [
  '10:0',
  '20:-2',
  '30:2',
  `34:${HG_NEEDS_PROTO_91}`,
  '34:1',
  '36:1',
  `35:${HG_NEEDS_PROTO_91}`,
  '35:-1',
  '37:-1',
  '40:0',
  `41:${HG_NEEDS_PROTO_101_WSAME}`,
  '41:-100',
  '41:1',
  '41:-1',
  '40:1',
  '40:-1',
  '50:-1',
  `51:${HG_NEEDS_PROTO_91}`,
  '51:-1',
  '60:-2',
  '70:1',
  `71:${HG_NEEDS_PROTO_91}`,
  '71:1',
  '80:2',
  '90:100',
  '100:-100',
  `100:${HG_UNRELATED}`,
];
