// Control packets as plain objects <-> (command, payload): the form in which the native peer
// link hands them to JS and takes them back (docs/architecture.md).
import { CMD, commandName } from './commands.js';
import { expectLength, ProtocolError } from './errors.js';
import { decodeProtocol, encodeProtocol } from './protocol-packet.js';
import { decodeSizes, encodeSizes, type Sizes } from './sizes.js';
import type { DeviceState } from '../state/state.js';
import type { ProtocolSettings } from '../state/after-sb.js';
import { decodeStateWord, encodeStateWord } from './state.js';
import { decodeSyncParams, encodeSyncParams, type SyncParams } from './sync-param.js';
import { decodeSyncUuid, decodeUuids, encodeSyncUuid, encodeUuids, type Uuids } from './uuids.js';
import type { MaskVal } from './state-change.js';

export type ControlPacket =
  | { type: 'P_PROTOCOL' | 'P_PROTOCOL_UPDATE'; settings: ProtocolSettings }
  | { type: 'P_SYNC_PARAM89'; params: SyncParams }
  | { type: 'P_SIZES'; sizes: Sizes }
  | { type: 'P_UUIDS'; uuids: Uuids }
  | { type: 'P_STATE'; state: DeviceState }
  | { type: 'P_SYNC_UUID'; uuid: bigint }
  | { type: 'P_STATE_CHG_REQ' | 'P_CONN_ST_CHG_REQ'; request: MaskVal }
  /** retcode: an SS code (src/state's SS) as a plain number; the peer may send any s32. */
  | { type: 'P_STATE_CHG_REPLY' | 'P_CONN_ST_CHG_REPLY'; retcode: number };

export type ControlType = ControlPacket['type'];

export const CONTROL_COMMANDS: readonly ControlType[] = [
  'P_PROTOCOL',
  'P_PROTOCOL_UPDATE',
  'P_SYNC_PARAM89',
  'P_SIZES',
  'P_UUIDS',
  'P_STATE',
  'P_SYNC_UUID',
  'P_STATE_CHG_REQ',
  'P_CONN_ST_CHG_REQ',
  'P_STATE_CHG_REPLY',
  'P_CONN_ST_CHG_REPLY',
];

export function isControlCommand(cmd: number): boolean {
  return (CONTROL_COMMANDS as readonly string[]).includes(commandName(cmd));
}

const asBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.length);

export interface DecodeOptions {
  /** Agreed feature flags; pins the P_SIZES length (56 with FF_WSAME, else 32). */
  agreedFeatures?: number;
}

export function decodeControl(cmd: number, payload: Uint8Array, opts: DecodeOptions = {}): ControlPacket {
  const type = commandName(cmd);
  switch (type) {
    case 'P_PROTOCOL':
    case 'P_PROTOCOL_UPDATE':
      return { type, settings: decodeProtocol(payload, type) };
    case 'P_SYNC_PARAM89':
      return { type, params: decodeSyncParams(payload) };
    case 'P_SIZES':
      return { type, sizes: decodeSizes(payload, opts.agreedFeatures) };
    case 'P_UUIDS':
      return { type, uuids: decodeUuids(payload) };
    case 'P_STATE':
      expectLength(type, payload, 4);
      return { type, state: decodeStateWord(asBuffer(payload).readUInt32BE(0)) };
    case 'P_SYNC_UUID':
      return { type, uuid: decodeSyncUuid(payload) };
    case 'P_STATE_CHG_REQ':
    case 'P_CONN_ST_CHG_REQ': {
      expectLength(type, payload, 8);
      const b = asBuffer(payload);
      return { type, request: { mask: b.readUInt32BE(0), val: b.readUInt32BE(4) } };
    }
    case 'P_STATE_CHG_REPLY':
    case 'P_CONN_ST_CHG_REPLY':
      expectLength(type, payload, 4);
      return { type, retcode: asBuffer(payload).readInt32BE(0) };
    default:
      throw new ProtocolError('ERR_PROTOCOL_COMMAND', 'not a control packet owned by src/protocol', type);
  }
}

export function encodeControl(p: ControlPacket): { command: number; payload: Buffer } {
  const command = CMD[p.type];
  switch (p.type) {
    case 'P_PROTOCOL':
    case 'P_PROTOCOL_UPDATE':
      return { command, payload: encodeProtocol(p.settings) };
    case 'P_SYNC_PARAM89':
      return { command, payload: encodeSyncParams(p.params) };
    case 'P_SIZES':
      return { command, payload: encodeSizes(p.sizes) };
    case 'P_UUIDS':
      return { command, payload: encodeUuids(p.uuids) };
    case 'P_STATE': {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(encodeStateWord(p.state));
      return { command, payload: b };
    }
    case 'P_SYNC_UUID':
      return { command, payload: encodeSyncUuid(p.uuid) };
    case 'P_STATE_CHG_REQ':
    case 'P_CONN_ST_CHG_REQ': {
      const b = Buffer.alloc(8);
      b.writeUInt32BE(p.request.mask >>> 0, 0);
      b.writeUInt32BE(p.request.val >>> 0, 4);
      return { command, payload: b };
    }
    case 'P_STATE_CHG_REPLY':
    case 'P_CONN_ST_CHG_REPLY': {
      const b = Buffer.alloc(4);
      b.writeInt32BE(p.retcode);
      return { command, payload: b };
    }
  }
}
