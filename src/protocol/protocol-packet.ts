// P_PROTOCOL / P_PROTOCOL_UPDATE (wire-protocol-84.md §4.2): the net settings both nodes compare.
// The settings type and its enums are src/state's (ProtocolSettings, AfterSbPolicy, WireProtocol);
// their values are the wire values.
import { ProtocolError } from './errors.js';
import { AfterSbPolicy, WireProtocol } from '../state/enums.js';
import type { ProtocolSettings } from '../state/after-sb.js';

export const CF_DISCARD_MY_DATA = 1;
export const CF_DRY_RUN = 2;

/** SHARED_SECRET_MAX: the integrity_alg string including its NUL fits in 64 bytes. */
const MAX_ALG = 64;

export function encodeProtocol(p: ProtocolSettings): Buffer {
  const alg = Buffer.from(p.integrityAlg, 'latin1');
  if (alg.length >= MAX_ALG || alg.includes(0)) {
    throw new ProtocolError('ERR_PROTOCOL_ARGUMENT', `integrity-alg "${p.integrityAlg}" too long or contains NUL`, 'P_PROTOCOL');
  }
  const b = Buffer.alloc(24 + alg.length + 1);
  const value = (v: number, e: Readonly<Record<number, string>>, what: string): number => {
    if (typeof v !== 'number' || e[v] === undefined) throw new ProtocolError('ERR_PROTOCOL_ARGUMENT', `unknown ${what} ${String(v)}`, 'P_PROTOCOL');
    return v;
  };
  b.writeUInt32BE(value(p.protocol, WireProtocol, 'protocol'), 0);
  b.writeUInt32BE(value(p.afterSb0p, AfterSbPolicy, 'after-sb-0pri'), 4);
  b.writeUInt32BE(value(p.afterSb1p, AfterSbPolicy, 'after-sb-1pri'), 8);
  b.writeUInt32BE(value(p.afterSb2p, AfterSbPolicy, 'after-sb-2pri'), 12);
  b.writeUInt32BE((p.discardMyData ? CF_DISCARD_MY_DATA : 0) | (p.dryRun ? CF_DRY_RUN : 0), 16);
  b.writeUInt32BE(p.twoPrimaries ? 1 : 0, 20);
  alg.copy(b, 24);
  return b;
}

export function decodeProtocol(b: Uint8Array, command = 'P_PROTOCOL'): ProtocolSettings {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  if (buf.length < 25 || buf.length > 24 + MAX_ALG) {
    throw new ProtocolError('ERR_PROTOCOL_LENGTH', `payload of ${buf.length} bytes, expected 25..${24 + MAX_ALG}`, command);
  }
  const bad = (msg: string): never => {
    throw new ProtocolError('ERR_PROTOCOL_VALUE', msg, command);
  };
  const proto = buf.readUInt32BE(0);
  const sb = [4, 8, 12].map((o) => buf.readUInt32BE(o));
  const flags = buf.readUInt32BE(16);
  const two = buf.readUInt32BE(20);
  if (WireProtocol[proto] === undefined) bad(`wire protocol ${proto}`);
  for (const v of sb) if (AfterSbPolicy[v] === undefined) bad(`after-sb policy ${v}`);
  if (flags & ~(CF_DISCARD_MY_DATA | CF_DRY_RUN)) bad(`conn_flags 0x${flags.toString(16)}`);
  if (two > 1) bad(`two_primaries ${two}`);
  // The string runs to the end of the packet and ends with its only NUL.
  const alg = buf.subarray(24);
  if (alg[alg.length - 1] !== 0 || alg.indexOf(0) !== alg.length - 1) bad('integrity_alg is not one NUL-terminated string');
  return {
    protocol: proto as WireProtocol,
    afterSb0p: sb[0] as AfterSbPolicy,
    afterSb1p: sb[1] as AfterSbPolicy,
    afterSb2p: sb[2] as AfterSbPolicy,
    discardMyData: (flags & CF_DISCARD_MY_DATA) !== 0,
    dryRun: (flags & CF_DRY_RUN) !== 0,
    twoPrimaries: two === 1,
    integrityAlg: alg.subarray(0, alg.length - 1).toString('latin1'),
  };
}
