// State-change requests (P_STATE_CHG_REQ / P_CONN_ST_CHG_REQ mask/val, wire-protocol-84.md §5.3)
// and the receiver-side mirroring of the sender's view into our own.
import { ProtocolError } from './errors.js';
import { UUID_FLAG_INCONSISTENT } from './uuids.js';
import {
  FIELD_ORDER,
  STATE_FIELDS,
  decodeStateWord,
  fieldMask,
  fieldValue,
  type ConnState,
  type DiskState,
  type DrbdState,
  type StateField,
} from './state.js';

/** A requested change: only the fields present are changed (their mask bits are all ones). */
export type StateChange = Partial<DrbdState>;

export interface MaskVal {
  mask: number;
  val: number;
}

export function encodeStateChange(change: StateChange): MaskVal {
  let mask = 0;
  let val = 0;
  for (const f of FIELD_ORDER) {
    const v = change[f];
    if (v === undefined) continue;
    mask |= fieldMask(f);
    val |= fieldValue(f, v) << STATE_FIELDS[f].shift;
  }
  return { mask: mask >>> 0, val: val >>> 0 };
}

/** Decodes mask/val. Every field's mask must be all ones or all zeros, and val must be zero
 * outside the mask; anything else is not something a DRBD node sends. */
export function decodeStateChange(mv: MaskVal): StateChange {
  const { mask, val } = mv;
  if ((val & ~mask) >>> 0 !== 0) {
    throw new ProtocolError('ERR_PROTOCOL_VALUE', `val 0x${val.toString(16)} has bits outside mask 0x${mask.toString(16)}`, 'P_STATE_CHG_REQ');
  }
  const full = decodeStateWord(val);
  const out: Record<string, unknown> = {};
  let known = 0;
  for (const f of FIELD_ORDER) {
    const m = fieldMask(f);
    known |= m;
    const part = (mask & m) >>> 0;
    if (part === 0) continue;
    if (part !== m) throw new ProtocolError('ERR_PROTOCOL_VALUE', `partial mask 0x${part.toString(16)} for ${f}`, 'P_STATE_CHG_REQ');
    out[f] = full[f];
  }
  if ((mask & ~known) >>> 0 !== 0) {
    throw new ProtocolError('ERR_PROTOCOL_VALUE', `mask 0x${mask.toString(16)} has unused bits set`, 'P_STATE_CHG_REQ');
  }
  return out as StateChange;
}

// Conn values as seen by the other node. Disconnecting becomes TearDown on the peer (states.md
// §2.5; the kernel's conversion table); the S/T pairs swap; VerifyS -> VerifyT. Others unchanged.
const CONN_MIRROR: Partial<Record<ConnState, ConnState>> = {
  Disconnecting: 'TearDown',
  StartingSyncS: 'StartingSyncT',
  StartingSyncT: 'StartingSyncS',
  WFBitMapS: 'WFBitMapT',
  WFBitMapT: 'WFBitMapS',
  VerifyS: 'VerifyT',
};

export function mirrorConn(c: ConnState): ConnState {
  return CONN_MIRROR[c] ?? c;
}

/**
 * Converts a request received from the peer (in the peer's view) into our view: role<->peer,
 * disk<->pdsk, conn mapped, and peerIsp := the peer's aftrIsp | userIsp (those two stay as they
 * are, as in the kernel's conversion).
 */
export function mirrorStateChange(change: StateChange): StateChange {
  const out: StateChange = {};
  const set = <K extends StateField>(k: K, v: DrbdState[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('role', change.peer);
  set('peer', change.role);
  set('disk', change.pdsk);
  set('pdsk', change.disk);
  set('conn', change.conn === undefined ? undefined : mirrorConn(change.conn));
  set('susp', change.susp);
  set('aftrIsp', change.aftrIsp);
  set('userIsp', change.userIsp);
  set('suspNod', change.suspNod);
  set('suspFen', change.suspFen);
  if (change.aftrIsp !== undefined || change.userIsp !== undefined) {
    out.peerIsp = (change.aftrIsp ?? false) || (change.userIsp ?? false);
  }
  return out;
}

/**
 * What a received P_STATE tells us about the peer (§5.3): peer := sender.role, pdsk := sender.disk
 * (a Negotiating sender is Inconsistent if its last P_UUIDS had flag bit 4, else Consistent),
 * peerIsp := sender.aftrIsp | sender.userIsp.
 */
export function peerViewOf(sender: DrbdState, senderUuidFlags = 0n): { peer: DrbdState['role']; pdsk: DiskState; peerIsp: boolean } {
  let pdsk: DiskState = sender.disk;
  if (pdsk === 'Negotiating') pdsk = senderUuidFlags & UUID_FLAG_INCONSISTENT ? 'Inconsistent' : 'Consistent';
  return { peer: sender.role, pdsk, peerIsp: sender.aftrIsp || sender.userIsp };
}

