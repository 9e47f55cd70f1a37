// After-split-brain recovery policies (handshake-and-split-brain.md §5) and the P_PROTOCOL
// settings check (wire-protocol-84.md §4.2). Result +1 = I am sync source (peer's data is
// discarded), −1 = I am sync target (my data is discarded), −100 = unresolved.
import { AfterSbPolicy, Role, WireProtocol } from './enums.js';
import { UI_BITMAP, type Uuids } from './uuids.js';

export const SB_UNRESOLVED = -100;

export interface AfterSbInput {
  /** My UUIDs (Bitmap bit 0 = I was already Primary when the split happened). */
  self: Uuids;
  peer: Uuids;
  /** My set bitmap bits (ch_self). */
  selfBits: bigint;
  /** The peer's UI_SIZE (ch_peer). */
  peerBits: bigint;
  /** I hold RESOLVE_CONFLICTS. */
  resolveConflicts: boolean;
  role: Role;
  afterSb0p: AfterSbPolicy;
  afterSb1p: AfterSbPolicy;
  afterSb2p: AfterSbPolicy;
  /**
   * call-pri-lost-after-sb: try to demote this node (a local soft state change to Secondary).
   * Returns true when the demotion succeeded.
   */
  tryDemote: () => boolean;
}

export interface AfterSbLog {
  level: 'info' | 'warn' | 'err';
  text: string;
}

export interface AfterSbResult {
  hg: number;
  /** Id of the decision path, for tests and logs. */
  path: string;
  log: AfterSbLog[];
  /** Handler to run (pri-lost-after-sb when the wanted demotion failed). */
  handler?: 'pri-lost-after-sb';
  /** The node gave up the Primary role (call-pri-lost-after-sb succeeded). */
  demoted?: boolean;
}

const CONFIG_ERROR = (path: string): AfterSbResult => ({
  hg: SB_UNRESOLVED,
  path,
  log: [{ level: 'err', text: 'Configuration error.' }],
});

/** after-sb-0pri: nobody is Primary now. */
export function afterSb0p(input: AfterSbInput): AfterSbResult {
  return recover0p(input, input.afterSb0p);
}

function recover0p(input: AfterSbInput, policy: AfterSbPolicy): AfterSbResult {
  const selfPri = Number(input.self[UI_BITMAP] & 1n);
  const peerPri = Number(input.peer[UI_BITMAP] & 1n);
  const chSelf = input.selfBits;
  const chPeer = input.peerBits;
  const tb = input.resolveConflicts;
  const log: AfterSbLog[] = [];
  const done = (hg: number, path: string): AfterSbResult => ({ hg, path, log });

  switch (policy) {
    case AfterSbPolicy.Disconnect:
      return done(SB_UNRESOLVED, '0p-disconnect');
    case AfterSbPolicy.Consensus:
    case AfterSbPolicy.DiscardSecondary:
    case AfterSbPolicy.CallPriLostAfterSb:
    case AfterSbPolicy.ViolentlyAs0p:
      return CONFIG_ERROR('0p-config-error');
    case AfterSbPolicy.DiscardLocal:
      return done(-1, '0p-discard-local');
    case AfterSbPolicy.DiscardRemote:
      return done(1, '0p-discard-remote');
    default:
      break;
  }

  // The discard-* chain: each policy falls through to the next when it finds no decision.
  let stage = policy;
  if (stage === AfterSbPolicy.DiscardYoungerPrimary) {
    if (selfPri === 0 && peerPri === 1) return done(-1, '0p-younger-self-younger');
    if (selfPri === 1 && peerPri === 0) return done(1, '0p-younger-peer-younger');
    stage = AfterSbPolicy.DiscardOlderPrimary;
  }
  if (stage === AfterSbPolicy.DiscardOlderPrimary) {
    if (selfPri === 0 && peerPri === 1) return done(1, '0p-older-peer-older');
    if (selfPri === 1 && peerPri === 0) return done(-1, '0p-older-self-older');
    log.push({ level: 'warn', text: 'Discard younger/older primary did not find a decision' });
    log.push({ level: 'warn', text: 'Using discard-least-changes instead' });
    stage = AfterSbPolicy.DiscardZeroChanges;
  }
  if (stage === AfterSbPolicy.DiscardZeroChanges) {
    if (chPeer === 0n && chSelf === 0n) return done(tb ? -1 : 1, '0p-zero-both');
    if (chPeer === 0n) return done(1, '0p-zero-peer');
    if (chSelf === 0n) return done(-1, '0p-zero-self');
    // Configured directly: no decision. Reached by fall-through: go on with least-changes.
    if (policy === AfterSbPolicy.DiscardZeroChanges) return done(SB_UNRESOLVED, '0p-zero-undecided');
  }
  // discard-least-changes
  if (chSelf < chPeer) return done(-1, '0p-least-self');
  if (chSelf > chPeer) return done(1, '0p-least-peer');
  return done(tb ? -1 : 1, '0p-least-equal');
}

/** The call-pri-lost-after-sb demotion step shared by 1pri and 2pri. */
function callPriLost(input: AfterSbInput, hg0: AfterSbResult, prefix: string): AfterSbResult {
  if (input.tryDemote()) {
    return {
      hg: -1,
      path: `${prefix}-call-pri-lost-demoted`,
      log: [...hg0.log, { level: 'warn', text: 'Successfully gave up primary role.' }],
      demoted: true,
    };
  }
  return { hg: SB_UNRESOLVED, path: `${prefix}-call-pri-lost-failed`, log: hg0.log, handler: 'pri-lost-after-sb' };
}

/** after-sb-1pri: exactly one node is Primary now. */
export function afterSb1p(input: AfterSbInput): AfterSbResult {
  const primary = input.role === Role.Primary;
  switch (input.afterSb1p) {
    case AfterSbPolicy.Disconnect:
      return { hg: SB_UNRESOLVED, path: '1p-disconnect', log: [] };
    case AfterSbPolicy.Consensus: {
      // Accept the 0pri verdict only if it discards the Secondary's data.
      const r = afterSb0p(input);
      const ok = (r.hg === -1 && !primary) || (r.hg === 1 && primary);
      return { hg: ok ? r.hg : SB_UNRESOLVED, path: ok ? '1p-consensus-agree' : '1p-consensus-refuse', log: r.log };
    }
    case AfterSbPolicy.ViolentlyAs0p: {
      const r = afterSb0p(input);
      return { hg: r.hg, path: '1p-violently', log: r.log };
    }
    case AfterSbPolicy.DiscardSecondary:
      return { hg: primary ? 1 : -1, path: primary ? '1p-discard-secondary-primary' : '1p-discard-secondary-secondary', log: [] };
    case AfterSbPolicy.CallPriLostAfterSb: {
      const r = afterSb0p(input);
      if (r.hg === -1 && primary) return callPriLost(input, r, '1p');
      return { hg: r.hg, path: '1p-call-pri-lost-keep', log: r.log };
    }
    default:
      return CONFIG_ERROR('1p-config-error');
  }
}

/** after-sb-2pri: both nodes are Primary now. */
export function afterSb2p(input: AfterSbInput): AfterSbResult {
  switch (input.afterSb2p) {
    case AfterSbPolicy.Disconnect:
      return { hg: SB_UNRESOLVED, path: '2p-disconnect', log: [] };
    case AfterSbPolicy.ViolentlyAs0p: {
      const r = afterSb0p(input);
      return { hg: r.hg, path: '2p-violently', log: r.log };
    }
    case AfterSbPolicy.CallPriLostAfterSb: {
      const r = afterSb0p(input);
      if (r.hg === -1) return callPriLost(input, r, '2p');
      return { hg: r.hg, path: '2p-call-pri-lost-keep', log: r.log };
    }
    default:
      return CONFIG_ERROR('2p-config-error');
  }
}

/** Every decision path of the three policy tables, for coverage checks. */
export const AFTER_SB_PATHS: readonly string[] = [
  '0p-disconnect',
  '0p-config-error',
  '0p-discard-local',
  '0p-discard-remote',
  '0p-younger-self-younger',
  '0p-younger-peer-younger',
  '0p-older-peer-older',
  '0p-older-self-older',
  '0p-zero-both',
  '0p-zero-peer',
  '0p-zero-self',
  '0p-zero-undecided',
  '0p-least-self',
  '0p-least-peer',
  '0p-least-equal',
  '1p-disconnect',
  '1p-consensus-agree',
  '1p-consensus-refuse',
  '1p-violently',
  '1p-discard-secondary-primary',
  '1p-discard-secondary-secondary',
  '1p-call-pri-lost-demoted',
  '1p-call-pri-lost-failed',
  '1p-call-pri-lost-keep',
  '1p-config-error',
  '2p-disconnect',
  '2p-violently',
  '2p-call-pri-lost-demoted',
  '2p-call-pri-lost-failed',
  '2p-call-pri-lost-keep',
  '2p-config-error',
];

// ---------------------------------------------------------------------------------------------
// P_PROTOCOL compatibility (wire-protocol-84.md §4.2, replication-protocol.md §3 step 6).

/** The net settings both nodes exchange in P_PROTOCOL (src/protocol encodes this type). */
export interface ProtocolSettings {
  protocol: WireProtocol;
  afterSb0p: AfterSbPolicy;
  afterSb1p: AfterSbPolicy;
  afterSb2p: AfterSbPolicy;
  /** conn_flags bit CF_DISCARD_MY_DATA (1). */
  discardMyData: boolean;
  /** conn_flags bit CF_DRY_RUN (2): `connect --dry-run`; not part of the compatibility check. */
  dryRun: boolean;
  twoPrimaries: boolean;
  /** data-integrity-alg; '' = none. */
  integrityAlg: string;
}

/** The peer's discard-local is my discard-remote and vice versa. */
export function mirrorAfterSb(p: AfterSbPolicy): AfterSbPolicy {
  if (p === AfterSbPolicy.DiscardLocal) return AfterSbPolicy.DiscardRemote;
  if (p === AfterSbPolicy.DiscardRemote) return AfterSbPolicy.DiscardLocal;
  return p;
}

/**
 * Checks the peer's P_PROTOCOL against my net settings; returns the kernel's error line
 * (`incompatible %s settings`, then the connection is dropped) or undefined when compatible.
 */
export function checkProtocolCompat(mine: ProtocolSettings, peer: ProtocolSettings): string | undefined {
  const bad = (what: string): string => `incompatible ${what} settings`;
  if (peer.protocol !== mine.protocol) return bad('protocol');
  if (mirrorAfterSb(peer.afterSb0p) !== mine.afterSb0p) return bad('after-sb-0pri');
  if (mirrorAfterSb(peer.afterSb1p) !== mine.afterSb1p) return bad('after-sb-1pri');
  if (mirrorAfterSb(peer.afterSb2p) !== mine.afterSb2p) return bad('after-sb-2pri');
  if (peer.discardMyData && mine.discardMyData) return bad('discard-my-data');
  if (peer.twoPrimaries !== mine.twoPrimaries) return bad('allow-two-primaries');
  if (peer.integrityAlg !== mine.integrityAlg) return bad('data-integrity-alg');
  return undefined;
}
