// src/protocol: state word, state-change requests, control packets, command table, strict
// decoding. The vocabulary is src/state's (mirroring and SS codes are tested in test/unit/state).
import { describe, expect, it } from 'vitest';
import {
  AfterSbPolicy,
  ConnState,
  DiskState,
  Role,
  SS,
  WireProtocol,
  type DeviceState,
  type ProtocolSettings,
} from '../../../src/state/index.js';
import {
  CMD,
  COMMANDS,
  ProtocolError,
  commandByName,
  commandName,
  decodeControl,
  decodeProtocol,
  decodeSizes,
  decodeStateChange,
  decodeStateWord,
  decodeSyncParams,
  encodeControl,
  encodeProtocol,
  encodeSizes,
  encodeStateChange,
  encodeStateWord,
  encodeSyncParams,
  fieldMask,
  formatState,
  payloadSize,
} from '../../../src/protocol/index.js';

describe('state word (§5)', () => {
  it('decodes the words listed in the spec to the states it names', () => {
    const words: [number, string][] = [
      [0x0000c882, 'Secondary/Unknown WFConnection Inconsistent/DUnknown'],
      [0x000088aa, 'Secondary/Secondary Connected Inconsistent/Inconsistent'],
      [0x000090a9, 'Primary/Secondary Connected UpToDate/Inconsistent'],
      [0x000108e6, 'Secondary/Primary WFBitMapT Inconsistent/UpToDate'],
      [0x0000f0d9, 'Primary/Secondary WFBitMapS UpToDate/Consistent'],
      [0x00010ae6, 'Secondary/Primary WFBitMapT Outdated/UpToDate'],
      [0x000110a6, 'Secondary/Primary Connected UpToDate/UpToDate'],
      [0x000106a9, 'Primary/Secondary Connected Negotiating/UpToDate'],
    ];
    for (const [w, text] of words) {
      const s = decodeStateWord(w);
      expect(formatState(s)).toBe(text);
      expect(encodeStateWord(s)).toBe(w);
    }
  });

  it('has the 8.4 enums: TearDown = 7, WFConnection = 8, Connected = 10, UpToDate = 8', () => {
    expect(ConnState.TearDown).toBe(7);
    expect(ConnState.WFConnection).toBe(8);
    expect(ConnState.Connected).toBe(10);
    expect(Object.values(ConnState).filter((v) => typeof v === 'number').length).toBe(24);
    expect(DiskState.UpToDate).toBe(8);
    expect(encodeStateWord({ ...decodeStateWord(0), conn: ConnState.TearDown })).toBe(7 << 4);
  });

  it('places every flag bit where §5.1 says', () => {
    const base = decodeStateWord(0);
    const bits: [keyof DeviceState, number][] = [
      ['susp', 17],
      ['aftrIsp', 18],
      ['peerIsp', 19],
      ['userIsp', 20],
      ['suspNod', 21],
      ['suspFen', 22],
    ];
    for (const [f, bit] of bits) expect(encodeStateWord({ ...base, [f]: true })).toBe(2 ** bit);
    expect(fieldMask('conn')).toBe(0x1f0);
    expect(fieldMask('pdsk')).toBe(0x1e000);
  });

  it('rejects undefined enum values with a typed error', () => {
    expect(() => decodeStateWord(3)).toThrow(ProtocolError); // role 3
    expect(() => decodeStateWord(24 << 4)).toThrow(/conn value 24/);
    expect(() => decodeStateWord(9 << 9)).toThrow(/disk value 9/);
  });
});

describe('state-change requests (§5.3)', () => {
  it('encodes the captured requests', () => {
    expect(encodeStateChange({ role: Role.Primary })).toEqual({ mask: 0x3, val: 0x1 });
    expect(encodeStateChange({ role: Role.Primary, disk: DiskState.UpToDate })).toEqual({ mask: 0x1e03, val: 0x1001 });
    expect(encodeStateChange({ conn: ConnState.VerifyS })).toEqual({ mask: 0x1f0, val: 0x120 });
    expect(encodeStateChange({ disk: DiskState.Failed })).toEqual({ mask: 0x1e00, val: 0x400 });
    expect(encodeStateChange({ conn: ConnState.Disconnecting })).toEqual({ mask: 0x1f0, val: 0x10 });
  });

  it('refuses partial field masks and val bits outside the mask', () => {
    expect(() => decodeStateChange({ mask: 0x1, val: 0x1 })).toThrow(/partial mask/);
    expect(() => decodeStateChange({ mask: 0x3, val: 0x10 })).toThrow(/outside mask/);
    expect(() => decodeStateChange({ mask: 0x800000, val: 0 })).toThrow(/unused bits/);
  });

  it('refuses values that are not DRBD 8.4 enum values when encoding', () => {
    expect(() => encodeStateChange({ conn: 24 as ConnState })).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL_ARGUMENT' }));
    expect(() => encodeStateWord({ ...decodeStateWord(0), disk: 9 as DiskState })).toThrow(/9 is not a disk value/);
  });
});

describe('retcodes', () => {
  it('P_STATE_CHG_REPLY carries an SS code as a plain s32', () => {
    const reply = encodeControl({ type: 'P_STATE_CHG_REPLY', retcode: SS.CwFailedByPeer });
    expect(reply.payload.toString('hex')).toBe('fffffff6');
    expect(decodeControl(reply.command, reply.payload)).toEqual({ type: 'P_STATE_CHG_REPLY', retcode: -10 });
  });
});

describe('command table (§3)', () => {
  it('maps names and numbers both ways with the §3 sizes and sockets', () => {
    expect(CMD.P_SYNC_PARAM89).toBe(0x23);
    expect(commandName(0xfffe)).toBe('P_CONNECTION_FEATURES');
    expect(commandName(0x26)).toBe('UNKNOWN(0x0026)');
    expect(commandByName('P_RS_IS_IN_SYNC')).toMatchObject({ cmd: 0x22, sock: 'meta', size: 24, owner: 'native' });
    expect(commandByName('P_CONN_ST_CHG_REPLY')).toMatchObject({ sock: 'meta', size: 4, owner: 'protocol' });
    expect(payloadSize(CMD.P_SIZES, 0)).toBe(32);
    expect(payloadSize(CMD.P_SIZES, 0xf)).toBe(56);
    expect(payloadSize(CMD.P_DATA)).toBe('variable');
    expect(new Set(COMMANDS.map((c) => c.cmd)).size).toBe(COMMANDS.length);
  });
});

describe('control packets', () => {
  const settings: ProtocolSettings = {
    protocol: WireProtocol.C,
    afterSb0p: AfterSbPolicy.DiscardZeroChanges,
    afterSb1p: AfterSbPolicy.Consensus,
    afterSb2p: AfterSbPolicy.ViolentlyAs0p,
    discardMyData: true,
    dryRun: false,
    twoPrimaries: true,
    integrityAlg: 'sha1',
  };

  it('P_PROTOCOL round-trips and carries the enum numbers', () => {
    const b = encodeProtocol(settings);
    expect(b.length).toBe(24 + 5);
    expect([...[0, 4, 8, 12, 16, 20].map((o) => b.readUInt32BE(o))]).toEqual([3, 3, 7, 10, 1, 1]);
    expect(decodeProtocol(b)).toEqual(settings);
    expect(AfterSbPolicy.CallPriLostAfterSb).toBe(9);
    expect(() => encodeProtocol({ ...settings, afterSb1p: 11 as AfterSbPolicy })).toThrow(/unknown after-sb-1pri 11/);
    expect(() => decodeProtocol(Object.assign(Buffer.from(b), { 7: 11 }))).toThrow(/after-sb policy 11/);
    expect(() => decodeProtocol(Buffer.concat([b.subarray(0, 24), Buffer.from('sha1')]))).toThrow(/NUL/);
    const bad = Buffer.from(b);
    bad.writeUInt32BE(4, 0);
    expect(() => decodeProtocol(bad)).toThrow(/wire protocol 4/);
    expect(() => decodeProtocol(Buffer.alloc(24))).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL_LENGTH' }));
  });

  it('P_SYNC_PARAM89 is exactly 148 bytes', () => {
    const p = { resyncRate: 400000, verifyAlg: 'crc32c', csumsAlg: 'md5', cPlanAhead: 20, cDelayTarget: 10, cFillTarget: 100, cMaxRate: 102400 };
    const b = encodeSyncParams(p);
    expect(b.length).toBe(148);
    expect(b.subarray(4, 11).toString('latin1')).toBe('crc32c\0');
    expect(b.subarray(68, 72).toString('latin1')).toBe('md5\0');
    expect(decodeSyncParams(b)).toEqual(p);
    expect(() => decodeSyncParams(b.subarray(0, 140))).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL_LENGTH' }));
    expect(() => decodeSyncParams(Buffer.concat([b, Buffer.alloc(4)]))).toThrow(ProtocolError);
  });

  it('P_SIZES: encodes 32 bytes without qlim, decodes 32 and 56, pins the size by features', () => {
    const s = { dSize: 278440n, uSize: 0n, cSize: 278440n, maxBioSize: 1048576, queueOrderType: 0, ddsFlags: 0 };
    const b = encodeSizes(s);
    expect(b.length).toBe(32);
    expect(decodeSizes(b)).toEqual(s);
    expect(decodeSizes(b, 0)).toEqual(s);
    expect(() => decodeSizes(b, 0xf)).toThrow(/expected 56/);
    const q = { ...s, qlim: { physicalBlockSize: 512, logicalBlockSize: 512, alignmentOffset: 0, ioMin: 512, ioOpt: 0, discardEnabled: 1, discardZeroesData: 0, writeSameCapable: 0 } };
    expect(decodeSizes(encodeSizes(q))).toEqual(q);
    expect(() => decodeSizes(Buffer.alloc(40))).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL_LENGTH' }));
  });

  it('P_UUIDS and P_SYNC_UUID carry full 64-bit values', () => {
    const uuids = { current: 0xfedcba9876543211n, bitmap: 0x8000000000000000n, history: [1n, 2n] as [bigint, bigint], bitmapWeight: 34805n, flags: 4n };
    const e = encodeControl({ type: 'P_UUIDS', uuids });
    expect(e.payload.length).toBe(48);
    expect(decodeControl(e.command, e.payload)).toEqual({ type: 'P_UUIDS', uuids });
    const su = encodeControl({ type: 'P_SYNC_UUID', uuid: 0xffffffffffffffffn });
    expect(decodeControl(su.command, su.payload)).toEqual({ type: 'P_SYNC_UUID', uuid: 0xffffffffffffffffn });
  });

  it('every fixed-size control packet rejects a wrong length; data packets are refused', () => {
    for (const [type, size] of [['P_UUIDS', 48], ['P_STATE', 4], ['P_SYNC_UUID', 8], ['P_STATE_CHG_REQ', 8], ['P_CONN_ST_CHG_REQ', 8], ['P_STATE_CHG_REPLY', 4], ['P_CONN_ST_CHG_REPLY', 4]] as const) {
      for (const n of [0, size - 1, size + 1]) {
        expect(() => decodeControl(CMD[type], Buffer.alloc(n)), `${type} ${n}`).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL_LENGTH' }));
      }
    }
    expect(() => decodeControl(CMD.P_DATA, Buffer.alloc(24))).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL_COMMAND' }));
  });
});
