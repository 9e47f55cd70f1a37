// The state word as the wire codec (names) and the state engine (ordinals) spell it. Both
// use DRBD's own names, so the conversion is a lookup in the state engine's enums.
import type { DrbdState, StateChange as WireStateChange } from '../protocol/index.js';
import { ConnState, DiskState, Role, type DeviceState, type StateChange } from '../state/index.js';

export function toWire(s: DeviceState): DrbdState {
  return {
    role: Role[s.role] as DrbdState['role'],
    peer: Role[s.peer] as DrbdState['peer'],
    conn: ConnState[s.conn] as DrbdState['conn'],
    disk: DiskState[s.disk] as DrbdState['disk'],
    pdsk: DiskState[s.pdsk] as DrbdState['pdsk'],
    susp: s.susp,
    aftrIsp: s.aftrIsp,
    peerIsp: s.peerIsp,
    userIsp: s.userIsp,
    suspNod: s.suspNod,
    suspFen: s.suspFen,
  };
}

export function fromWire(s: DrbdState): DeviceState {
  return {
    role: Role[s.role],
    peer: Role[s.peer],
    conn: ConnState[s.conn],
    disk: DiskState[s.disk],
    pdsk: DiskState[s.pdsk],
    susp: s.susp,
    aftrIsp: s.aftrIsp,
    peerIsp: s.peerIsp,
    userIsp: s.userIsp,
    suspNod: s.suspNod,
    suspFen: s.suspFen,
  };
}

/** A partial change (the fields a P_STATE_CHG_REQ mask selects), in either spelling. */
export function changeToWire(c: StateChange): WireStateChange {
  const out: WireStateChange = {};
  if (c.role !== undefined) out.role = Role[c.role] as DrbdState['role'];
  if (c.peer !== undefined) out.peer = Role[c.peer] as DrbdState['peer'];
  if (c.conn !== undefined) out.conn = ConnState[c.conn] as DrbdState['conn'];
  if (c.disk !== undefined) out.disk = DiskState[c.disk] as DrbdState['disk'];
  if (c.pdsk !== undefined) out.pdsk = DiskState[c.pdsk] as DrbdState['pdsk'];
  for (const f of ['susp', 'aftrIsp', 'peerIsp', 'userIsp', 'suspNod', 'suspFen'] as const) {
    if (c[f] !== undefined) out[f] = c[f];
  }
  return out;
}

export function changeFromWire(c: WireStateChange): StateChange {
  const out: StateChange = {};
  if (c.role !== undefined) out.role = Role[c.role];
  if (c.peer !== undefined) out.peer = Role[c.peer];
  if (c.conn !== undefined) out.conn = ConnState[c.conn];
  if (c.disk !== undefined) out.disk = DiskState[c.disk];
  if (c.pdsk !== undefined) out.pdsk = DiskState[c.pdsk];
  for (const f of ['susp', 'aftrIsp', 'peerIsp', 'userIsp', 'suspNod', 'suspFen'] as const) {
    if (c[f] !== undefined) out[f] = c[f];
  }
  return out;
}
