// State-change requests (P_STATE_CHG_REQ / P_CONN_ST_CHG_REQ mask/val, wire-protocol-84.md §5.3):
// src/state's StateChange (a partial DeviceState) ⇄ mask/val. Only the encoding lives here; how
// the receiver mirrors a request into its own view is src/state's mirrorChange.
import { ProtocolError } from './errors.js';
import { STATE_FIELDS, type StateChange } from '../state/state.js';
import { STATE_WORD_BITS, decodeStateWord, fieldMask, fieldValue } from './state.js';

export interface MaskVal {
  mask: number;
  val: number;
}

export function encodeStateChange(change: StateChange): MaskVal {
  let mask = 0;
  let val = 0;
  for (const f of STATE_FIELDS) {
    const v = change[f];
    if (v === undefined) continue;
    mask |= fieldMask(f);
    val |= fieldValue(f, v) << STATE_WORD_BITS[f].shift;
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
  for (const f of STATE_FIELDS) {
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
