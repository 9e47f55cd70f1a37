// P_SYNC_PARAM89 at agreed >= 95 (p_rs_param_95): exactly 148 bytes (wire-protocol-84.md §4.2).
import { expectLength, ProtocolError } from './errors.js';

export const SYNC_PARAM_SIZE = 148;
const ALG_FIELD = 64; // SHARED_SECRET_MAX

export interface SyncParams {
  /** KiB/s */
  resyncRate: number;
  verifyAlg: string;
  csumsAlg: string;
  /** 0.1 s units */
  cPlanAhead: number;
  /** 0.1 s units */
  cDelayTarget: number;
  /** sectors */
  cFillTarget: number;
  /** KiB/s */
  cMaxRate: number;
}

function putAlg(b: Buffer, off: number, alg: string, what: string): void {
  const s = Buffer.from(alg, 'latin1');
  if (s.length >= ALG_FIELD || s.includes(0)) throw new ProtocolError('ERR_PROTOCOL_ARGUMENT', `${what} "${alg}" too long`, 'P_SYNC_PARAM89');
  s.copy(b, off); // the rest of the field stays zero
}

function getAlg(b: Buffer, off: number, what: string): string {
  const field = b.subarray(off, off + ALG_FIELD);
  const nul = field.indexOf(0);
  if (nul < 0) throw new ProtocolError('ERR_PROTOCOL_VALUE', `${what} is not NUL-terminated`, 'P_SYNC_PARAM89');
  // Bytes after the NUL are not looked at (the kernel does not either).
  return field.subarray(0, nul).toString('latin1');
}

export function encodeSyncParams(p: SyncParams): Buffer {
  const b = Buffer.alloc(SYNC_PARAM_SIZE);
  b.writeUInt32BE(p.resyncRate, 0);
  putAlg(b, 4, p.verifyAlg, 'verify-alg');
  putAlg(b, 68, p.csumsAlg, 'csums-alg');
  b.writeUInt32BE(p.cPlanAhead, 132);
  b.writeUInt32BE(p.cDelayTarget, 136);
  b.writeUInt32BE(p.cFillTarget, 140);
  b.writeUInt32BE(p.cMaxRate, 144);
  return b;
}

export function decodeSyncParams(u: Uint8Array): SyncParams {
  expectLength('P_SYNC_PARAM89', u, SYNC_PARAM_SIZE);
  const b = Buffer.from(u.buffer, u.byteOffset, u.length);
  return {
    resyncRate: b.readUInt32BE(0),
    verifyAlg: getAlg(b, 4, 'verify_alg'),
    csumsAlg: getAlg(b, 68, 'csums_alg'),
    cPlanAhead: b.readUInt32BE(132),
    cDelayTarget: b.readUInt32BE(136),
    cFillTarget: b.readUInt32BE(140),
    cMaxRate: b.readUInt32BE(144),
  };
}
