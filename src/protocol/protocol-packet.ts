// P_PROTOCOL / P_PROTOCOL_UPDATE (wire-protocol-84.md §4.2): the net settings both nodes compare.
import { ProtocolError } from './errors.js';

export const AFTER_SB_POLICIES = [
  'disconnect',
  'discard-younger-primary',
  'discard-older-primary',
  'discard-zero-changes',
  'discard-least-changes',
  'discard-local',
  'discard-remote',
  'consensus',
  'discard-secondary',
  'call-pri-lost-after-sb',
  'violently-as0p',
] as const;
export type AfterSbPolicy = (typeof AFTER_SB_POLICIES)[number];

export const WIRE_PROTOCOLS = ['A', 'B', 'C'] as const; // wire values 1, 2, 3
export type WireProtocol = (typeof WIRE_PROTOCOLS)[number];

export const CF_DISCARD_MY_DATA = 1;
export const CF_DRY_RUN = 2;

/** SHARED_SECRET_MAX: the integrity_alg string including its NUL fits in 64 bytes. */
const MAX_ALG = 64;

export interface ProtocolSettings {
  protocol: WireProtocol;
  afterSb0p: AfterSbPolicy;
  afterSb1p: AfterSbPolicy;
  afterSb2p: AfterSbPolicy;
  discardMyData: boolean;
  dryRun: boolean;
  twoPrimaries: boolean;
  /** data-integrity-alg; "" = none */
  integrityAlg: string;
}

export function encodeProtocol(p: ProtocolSettings): Buffer {
  const alg = Buffer.from(p.integrityAlg, 'latin1');
  if (alg.length >= MAX_ALG || alg.includes(0)) {
    throw new ProtocolError('ERR_PROTOCOL_ARGUMENT', `integrity-alg "${p.integrityAlg}" too long or contains NUL`, 'P_PROTOCOL');
  }
  const b = Buffer.alloc(24 + alg.length + 1);
  const idx = (v: string, list: readonly string[], what: string) => {
    const i = list.indexOf(v);
    if (i < 0) throw new ProtocolError('ERR_PROTOCOL_ARGUMENT', `unknown ${what} ${v}`, 'P_PROTOCOL');
    return i;
  };
  b.writeUInt32BE(idx(p.protocol, WIRE_PROTOCOLS, 'protocol') + 1, 0);
  b.writeUInt32BE(idx(p.afterSb0p, AFTER_SB_POLICIES, 'after-sb-0pri'), 4);
  b.writeUInt32BE(idx(p.afterSb1p, AFTER_SB_POLICIES, 'after-sb-1pri'), 8);
  b.writeUInt32BE(idx(p.afterSb2p, AFTER_SB_POLICIES, 'after-sb-2pri'), 12);
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
  if (proto < 1 || proto > 3) bad(`wire protocol ${proto}`);
  for (const v of sb) if (v >= AFTER_SB_POLICIES.length) bad(`after-sb policy ${v}`);
  if (flags & ~(CF_DISCARD_MY_DATA | CF_DRY_RUN)) bad(`conn_flags 0x${flags.toString(16)}`);
  if (two > 1) bad(`two_primaries ${two}`);
  // The string runs to the end of the packet and ends with its only NUL.
  const alg = buf.subarray(24);
  if (alg[alg.length - 1] !== 0 || alg.indexOf(0) !== alg.length - 1) bad('integrity_alg is not one NUL-terminated string');
  return {
    protocol: WIRE_PROTOCOLS[proto - 1],
    afterSb0p: AFTER_SB_POLICIES[sb[0]],
    afterSb1p: AFTER_SB_POLICIES[sb[1]],
    afterSb2p: AFTER_SB_POLICIES[sb[2]],
    discardMyData: (flags & CF_DISCARD_MY_DATA) !== 0,
    dryRun: (flags & CF_DRY_RUN) !== 0,
    twoPrimaries: two === 1,
    integrityAlg: alg.subarray(0, alg.length - 1).toString('latin1'),
  };
}
