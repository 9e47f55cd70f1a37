// The 8.4 state word (wire-protocol-84.md §5.1/§5.2; vocabulary in states.md §1): P_STATE payload
// and the mask/val words of P_STATE_CHG_REQ / P_CONN_ST_CHG_REQ. The names and ordinals are
// src/state's enums (their values are the wire values); this module only packs them into bits.
import { ProtocolError } from './errors.js';
import { ConnState, DiskState, Role, connName, diskName, roleName } from '../state/enums.js';
import { STATE_FIELDS, type DeviceState, type StateField } from '../state/state.js';

/** Bit position and width of every field in the u32 (§5.1). Bits 23-31 are unused (0). */
export const STATE_WORD_BITS: Readonly<Record<StateField, { shift: number; bits: number }>> = {
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

/** The all-ones mask of one field, e.g. fieldMask('conn') === 0x1f0. */
export function fieldMask(f: StateField): number {
  const { shift, bits } = STATE_WORD_BITS[f];
  return (((1 << bits) - 1) << shift) >>> 0;
}

/** The enum (value ⇄ name) of an enum field; undefined for the boolean flags. */
const enumOf = (f: StateField): Readonly<Record<number, string>> | undefined =>
  f === 'role' || f === 'peer' ? Role : f === 'conn' ? ConnState : f === 'disk' || f === 'pdsk' ? DiskState : undefined;

/** Wire value of one field's value (the enum value itself for enums, 0/1 for flags). */
export function fieldValue(f: StateField, v: DeviceState[StateField]): number {
  const e = enumOf(f);
  if (e) {
    if (typeof v !== 'number' || e[v] === undefined) {
      throw new ProtocolError('ERR_PROTOCOL_ARGUMENT', `${String(v)} is not a ${f} value`);
    }
    return v;
  }
  if (typeof v !== 'boolean') throw new ProtocolError('ERR_PROTOCOL_ARGUMENT', `${f} must be a boolean`);
  return v ? 1 : 0;
}

function fieldFromWire(f: StateField, raw: number): DeviceState[StateField] {
  const e = enumOf(f);
  if (!e) return raw === 1;
  if (e[raw] === undefined) throw new ProtocolError('ERR_PROTOCOL_VALUE', `${f} value ${raw} is not defined in DRBD 8.4`, 'P_STATE');
  return raw;
}

export function encodeStateWord(s: DeviceState): number {
  let w = 0;
  for (const f of STATE_FIELDS) w |= fieldValue(f, s[f]) << STATE_WORD_BITS[f].shift;
  return w >>> 0;
}

/** Decodes a u32 state word. Undefined enum values are an error; the unused bits 23-31 are
 * ignored, as the kernel ignores them. */
export function decodeStateWord(word: number): DeviceState {
  const s = {} as Record<StateField, unknown>;
  for (const f of STATE_FIELDS) {
    const { shift, bits } = STATE_WORD_BITS[f];
    s[f] = fieldFromWire(f, (word >>> shift) & ((1 << bits) - 1));
  }
  return s as unknown as DeviceState;
}

/** "Secondary/Unknown WFConnection Inconsistent/DUnknown" — for logs and test messages. */
export function formatState(s: DeviceState): string {
  const flags = (['susp', 'aftrIsp', 'peerIsp', 'userIsp', 'suspNod', 'suspFen'] as const).filter((f) => s[f]);
  return `${roleName(s.role)}/${roleName(s.peer)} ${connName(s.conn)} ${diskName(s.disk)}/${diskName(s.pdsk)}${flags.length ? ' ' + flags.join(',') : ''}`;
}
