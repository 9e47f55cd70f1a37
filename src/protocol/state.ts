// The 8.4 state word (wire-protocol-84.md §5.1/§5.2; vocabulary in states.md §1): P_STATE payload
// and the mask/val words of P_STATE_CHG_REQ / P_CONN_ST_CHG_REQ. The enum arrays are the single
// source of the names and their ordinals (index = wire value); src/state reuses them.
import { ProtocolError } from './errors.js';

export const ROLES = ['Unknown', 'Primary', 'Secondary'] as const;
export type Role = (typeof ROLES)[number];

/** 8.4 connection states. Note TearDown = 7 (tshark shows DRBD 9 names, which are wrong here). */
export const CONN_STATES = [
  'StandAlone',
  'Disconnecting',
  'Unconnected',
  'Timeout',
  'BrokenPipe',
  'NetworkFailure',
  'ProtocolError',
  'TearDown',
  'WFConnection',
  'WFReportParams',
  'Connected',
  'StartingSyncS',
  'StartingSyncT',
  'WFBitMapS',
  'WFBitMapT',
  'WFSyncUUID',
  'SyncSource',
  'SyncTarget',
  'VerifyS',
  'VerifyT',
  'PausedSyncS',
  'PausedSyncT',
  'Ahead',
  'Behind',
] as const;
export type ConnState = (typeof CONN_STATES)[number];

export const DISK_STATES = [
  'Diskless',
  'Attaching',
  'Failed',
  'Negotiating',
  'Inconsistent',
  'Outdated',
  'DUnknown',
  'Consistent',
  'UpToDate',
] as const;
export type DiskState = (typeof DISK_STATES)[number];

/** Ordinal of an enum value (the rules in states.md compare ordinals). */
export const roleOrdinal = (r: Role): number => ROLES.indexOf(r);
export const connOrdinal = (c: ConnState): number => CONN_STATES.indexOf(c);
export const diskOrdinal = (d: DiskState): number => DISK_STATES.indexOf(d);

export interface DrbdState {
  role: Role;
  peer: Role;
  conn: ConnState;
  disk: DiskState;
  pdsk: DiskState;
  susp: boolean;
  aftrIsp: boolean;
  peerIsp: boolean;
  userIsp: boolean;
  suspNod: boolean;
  suspFen: boolean;
}

export type StateField = keyof DrbdState;

/** Bit position and width of every field in the u32 (§5.1). Bits 23-31 are unused (0). */
export const STATE_FIELDS: Readonly<Record<StateField, { shift: number; bits: number }>> = {
  role: { shift: 0, bits: 2 },
  peer: { shift: 2, bits: 2 },
  conn: { shift: 4, bits: 5 },
  disk: { shift: 9, bits: 4 },
  pdsk: { shift: 13, bits: 4 },
  susp: { shift: 17, bits: 1 },
  aftrIsp: { shift: 18, bits: 1 },
  peerIsp: { shift: 19, bits: 1 },
  userIsp: { shift: 20, bits: 1 },
  suspNod: { shift: 21, bits: 1 },
  suspFen: { shift: 22, bits: 1 },
};

export const FIELD_ORDER = Object.keys(STATE_FIELDS) as StateField[];

/** The all-ones mask of one field, e.g. fieldMask('conn') === 0x1f0. */
export function fieldMask(f: StateField): number {
  const { shift, bits } = STATE_FIELDS[f];
  return (((1 << bits) - 1) << shift) >>> 0;
}

const enumOf = (f: StateField): readonly string[] | undefined =>
  f === 'role' || f === 'peer' ? ROLES : f === 'conn' ? CONN_STATES : f === 'disk' || f === 'pdsk' ? DISK_STATES : undefined;

/** Wire value of one field's value (ordinal for enums, 0/1 for flags). */
export function fieldValue(f: StateField, v: DrbdState[StateField]): number {
  const e = enumOf(f);
  if (e) {
    const i = e.indexOf(v as string);
    if (i < 0) throw new ProtocolError('ERR_PROTOCOL_ARGUMENT', `${String(v)} is not a ${f} value`);
    return i;
  }
  if (typeof v !== 'boolean') throw new ProtocolError('ERR_PROTOCOL_ARGUMENT', `${f} must be a boolean`);
  return v ? 1 : 0;
}

function fieldFromWire(f: StateField, raw: number): DrbdState[StateField] {
  const e = enumOf(f);
  if (!e) return raw === 1;
  const name = e[raw];
  if (name === undefined) throw new ProtocolError('ERR_PROTOCOL_VALUE', `${f} value ${raw} is not defined in DRBD 8.4`, 'P_STATE');
  return name as DrbdState[StateField];
}

export function encodeStateWord(s: DrbdState): number {
  let w = 0;
  for (const f of FIELD_ORDER) w |= fieldValue(f, s[f]) << STATE_FIELDS[f].shift;
  return w >>> 0;
}

/** Decodes a u32 state word. Undefined enum values are an error; the unused bits 23-31 are
 * ignored, as the kernel ignores them. */
export function decodeStateWord(word: number): DrbdState {
  const s = {} as Record<StateField, unknown>;
  for (const f of FIELD_ORDER) {
    const { shift, bits } = STATE_FIELDS[f];
    s[f] = fieldFromWire(f, (word >>> shift) & ((1 << bits) - 1));
  }
  return s as unknown as DrbdState;
}

/** "Secondary/Unknown WFConnection Inconsistent/DUnknown" — for logs and test messages. */
export function formatState(s: DrbdState): string {
  const flags = (['susp', 'aftrIsp', 'peerIsp', 'userIsp', 'suspNod', 'suspFen'] as const).filter((f) => s[f]);
  return `${s.role}/${s.peer} ${s.conn} ${s.disk}/${s.pdsk}${flags.length ? ' ' + flags.join(',') : ''}`;
}
