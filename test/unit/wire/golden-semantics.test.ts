// Golden semantics: what the captured packets mean, checked against the spec's and the .txt's
// statements (states, flags, echoes, epochs, bitmaps, verify results, auth, digests).
import { describe, expect, it } from 'vitest';
import { native } from '../../../src/engine/native.js';
import {
  CMD,
  decodeControl,
  decodeStateChange,
  formatState,
  type ControlPacket,
} from '../../../src/protocol/index.js';
import { AfterSbPolicy, ConnState as C, DiskState as D, Role as R, WireProtocol, type DeviceState } from '../../../src/state/index.js';
import { CAPTURE_BM_BITS, loadCapture } from '../../support/captures.js';
import type { DrbdFrame } from '../../support/drbd-frames.js';

const wire = native().wire;
const of = (name: string, cmd: string) => loadCapture(name).frames.filter((f) => f.command === CMD[cmd]);
const ctl = (f: DrbdFrame): ControlPacket => decodeControl(f.command, f.payload);
const stateOf = (f: DrbdFrame): DeviceState => {
  const p = ctl(f);
  if (p.type !== 'P_STATE') throw new Error('not P_STATE');
  return p.state;
};
const dec = (f: DrbdFrame, digestSize?: number) => wire.decodePacket(f.command, f.payload, digestSize);

describe('captured states and state-change requests', () => {
  it('connect-handshake: first P_STATE is WFConnection, the second Connected', () => {
    const states = of('connect-handshake', 'P_STATE').map((f) => formatState(stateOf(f)));
    expect(states).toEqual([
      'Secondary/Unknown WFConnection Inconsistent/DUnknown',
      'Secondary/Unknown WFConnection Inconsistent/DUnknown',
      'Secondary/Secondary Connected Inconsistent/Inconsistent',
      'Secondary/Secondary Connected Inconsistent/Inconsistent',
    ]);
    expect(of('connect-handshake', 'P_STATE').map((f) => f.payload.readUInt32BE(0))).toEqual([0xc882, 0xc882, 0x88aa, 0x88aa]);
  });

  it('primary --force: mask 0x1e03 val 0x1001 = role Primary + disk UpToDate, answered SS_SUCCESS', () => {
    const [req] = of('initial-sync-start', 'P_STATE_CHG_REQ').map(ctl);
    expect(req).toEqual({ type: 'P_STATE_CHG_REQ', request: { mask: 0x1e03, val: 0x1001 } });
    if (req.type !== 'P_STATE_CHG_REQ') throw new Error();
    expect(decodeStateChange(req.request)).toEqual({ role: R.Primary, disk: D.UpToDate });
    expect(of('initial-sync-start', 'P_STATE_CHG_REPLY').map(ctl)).toEqual([{ type: 'P_STATE_CHG_REPLY', retcode: 1 }]);
    // The new Primary reports Connected UpToDate/Inconsistent, the peer goes WFBitMapT.
    const words = of('initial-sync-start', 'P_STATE').map((f) => formatState(stateOf(f)));
    expect(words).toEqual(['Primary/Secondary Connected UpToDate/Inconsistent', 'Secondary/Primary WFBitMapT Inconsistent/UpToDate']);
  });

  it('role switch, verify, detach and disconnect requests decode to the captured meaning', () => {
    const req = (name: string, cmd: string) => {
      const p = ctl(of(name, cmd)[0]);
      if (p.type !== 'P_STATE_CHG_REQ' && p.type !== 'P_CONN_ST_CHG_REQ') throw new Error();
      return decodeStateChange(p.request);
    };
    expect(req('role-switch', 'P_STATE_CHG_REQ')).toEqual({ role: R.Primary });
    expect(req('online-verify', 'P_STATE_CHG_REQ')).toEqual({ conn: C.VerifyS });
    expect(req('diskless-read-attach', 'P_STATE_CHG_REQ')).toEqual({ disk: D.Failed });
    expect(req('disconnect', 'P_CONN_ST_CHG_REQ')).toEqual({ conn: C.Disconnecting });
    expect(ctl(of('disconnect', 'P_CONN_ST_CHG_REPLY')[0])).toEqual({ type: 'P_CONN_ST_CHG_REPLY', retcode: 1 });
  });

  it('diskless-read-attach: the detached node reports Failed then Diskless, and Negotiating after attach', () => {
    const node2 = of('diskless-read-attach', 'P_STATE').filter((f) => f.src.startsWith('10.99.0.2:'));
    expect(node2.map((f) => stateOf(f).disk)).toEqual([D.Failed, D.Diskless, D.Negotiating, D.UpToDate]);
    expect(node2[2].payload.readUInt32BE(0)).toBe(0x000106a9);
  });

  it('reconnect-compressed: SyncTarget ends Connected UpToDate/UpToDate', () => {
    const last = of('reconnect-compressed-bitmap-resync', 'P_STATE').at(-1)!;
    expect(formatState(stateOf(last))).toBe('Secondary/Primary Connected UpToDate/UpToDate');
    expect(last.payload.readUInt32BE(0)).toBe(0x000110a6);
  });
});

describe('captured parameters', () => {
  it('connect-handshake: sizes, UUIDs, sync params and protocol', () => {
    const sizes = of('connect-handshake', 'P_SIZES').map(ctl);
    for (const s of sizes) {
      if (s.type !== 'P_SIZES') throw new Error();
      expect(s.sizes).toMatchObject({ dSize: 278440n, uSize: 0n, cSize: 278440n, maxBioSize: 1048576, ddsFlags: 0 });
      expect(s.sizes.qlim).toMatchObject({ physicalBlockSize: 512, logicalBlockSize: 512, ioMin: 512, ioOpt: 0, discardEnabled: 1 });
    }
    for (const u of of('connect-handshake', 'P_UUIDS').map(ctl)) {
      expect(u).toEqual({ type: 'P_UUIDS', uuids: { current: 4n, bitmap: 0n, history: [0n, 0n], bitmapWeight: BigInt(CAPTURE_BM_BITS), flags: 0n } });
    }
    for (const p of of('connect-handshake', 'P_SYNC_PARAM89').map(ctl)) {
      expect(p).toEqual({
        type: 'P_SYNC_PARAM89',
        params: { resyncRate: 250, verifyAlg: '', csumsAlg: '', cPlanAhead: 0, cDelayTarget: 10, cFillTarget: 100, cMaxRate: 102400 },
      });
    }
    for (const p of of('connect-handshake', 'P_PROTOCOL').map(ctl)) {
      expect(p).toEqual({
        type: 'P_PROTOCOL',
        settings: { protocol: WireProtocol.C, afterSb0p: AfterSbPolicy.Disconnect, afterSb1p: AfterSbPolicy.Disconnect, afterSb2p: AfterSbPolicy.Disconnect, discardMyData: false, dryRun: false, twoPrimaries: false, integrityAlg: '' },
      });
    }
    for (const f of of('connect-handshake', 'P_CONNECTION_FEATURES')) {
      expect(dec(f)).toEqual({ protocolMin: 86, featureFlags: 0xf, protocolMax: 101 });
      expect(wire.negotiate({ protocolMin: 100, featureFlags: 0, protocolMax: 101 }, dec(f) as never)).toEqual({ version: 101, features: 0 });
    }
  });

  it('reconnect-auth: verify-alg crc32c and csums-alg md5 travel in P_SYNC_PARAM89, protocol B', () => {
    for (const p of of('reconnect-auth-plain-bitmap-csums', 'P_SYNC_PARAM89').map(ctl)) {
      expect(p).toMatchObject({ params: { verifyAlg: 'crc32c', csumsAlg: 'md5' } });
    }
    for (const p of of('reconnect-auth-plain-bitmap-csums', 'P_PROTOCOL').map(ctl)) expect(p).toMatchObject({ settings: { protocol: WireProtocol.B } });
  });
});

describe('captured replication', () => {
  it('protocol C: dp_flags 0x102, write acks echo sector and block_id raw, barrier acks count the epoch', () => {
    checkEpochs('protocol-c-write', 0x102, 'P_WRITE_ACK');
  });

  it('protocol B: dp_flags 0x82, receive acks echo sector and block_id raw, barrier acks count the epoch', () => {
    checkEpochs('protocol-b-write', 0x82, 'P_RECV_ACK');
  });

  function checkEpochs(name: string, flags: number, ack: string) {
    const frames = loadCapture(name).frames;
    const data = frames.filter((f) => f.command === CMD.P_DATA).map((f) => dec(f, 0));
    expect(data.length).toBeGreaterThan(0);
    for (const d of data) expect(d.dpFlags).toBe(flags);
    const acks = frames.filter((f) => f.command === CMD[ack]).map((f) => dec(f));
    expect(acks.length).toBe(data.length);
    for (const a of acks) {
      const match = data.find((d) => d.sector === a.sector && d.blockId!.equals(a.blockId!));
      expect(match, `ack for sector ${a.sector}`).toBeDefined();
      expect(a.blksize).toBe(match!.data!.length);
    }
    // Count P_DATA per epoch (since the previous P_BARRIER) and compare with P_BARRIER_ACK.
    const epochs = new Map<string, number>();
    let inEpoch = 0;
    for (const f of frames) {
      if (f.command === CMD.P_DATA) inEpoch++;
      if (f.command === CMD.P_BARRIER) {
        epochs.set(dec(f).barrier!.toString('hex'), inEpoch);
        inEpoch = 0;
      }
    }
    const backs = frames.filter((f) => f.command === CMD.P_BARRIER_ACK).map((f) => dec(f));
    expect(backs.length).toBe(epochs.size);
    for (const b of backs) expect(b.setSize).toBe(epochs.get(b.barrier!.toString('hex')));
  }

  it('barrier numbers travel in the sender host order (127 = 7f 00 00 00)', () => {
    const all = ['protocol-c-write', 'protocol-b-write', 'diskless-read-attach'].flatMap((n) => of(n, 'P_BARRIER').map((f) => dec(f).barrier!));
    expect(all.map((b) => b.readUInt32LE(0))).toEqual(expect.arrayContaining([0, 1, 2]));
    expect(all.some((b) => b.equals(Buffer.from('7f000000', 'hex')))).toBe(true);
  });

  it('resync requests use ID_SYNCER and are answered with the same sector and block_id', () => {
    const name = 'initial-sync-start';
    const reqs = of(name, 'P_RS_DATA_REQUEST').map((f) => dec(f));
    expect(reqs.length).toBe(61);
    for (const r of reqs) expect(r.blockId!.toString('hex')).toBe('ffffffffffffffff');
    const replies = of(name, 'P_RS_DATA_REPLY').map((f) => dec(f, 0));
    for (const r of replies) {
      expect(r.seqNum).toBe(0);
      expect(r.dpFlags).toBe(0);
      expect(reqs.some((q) => q.sector === r.sector && q.blksize === r.data!.length)).toBe(true);
    }
  });

  it('remote reads: P_DATA_REPLY echoes the request handle', () => {
    const name = 'diskless-read-attach';
    const reqs = of(name, 'P_DATA_REQUEST').map((f) => dec(f));
    const replies = of(name, 'P_DATA_REPLY').map((f) => dec(f, 0));
    expect(replies.length).toBe(reqs.length);
    for (const r of replies) expect(reqs.some((q) => q.sector === r.sector && q.blockId!.equals(r.blockId!))).toBe(true);
  });
});

describe('captured bitmaps', () => {
  // Bitmap packets of one sender form one transfer (each capture has one exchange per direction).
  function transfers(name: string) {
    const by = new Map<string, DrbdFrame[]>();
    for (const f of loadCapture(name).frames) {
      if (f.command !== CMD.P_BITMAP && f.command !== CMD.P_COMPRESSED_BITMAP) continue;
      by.set(f.src, [...(by.get(f.src) ?? []), f]);
    }
    return [...by.values()];
  }
  const setBits = (words: Buffer) => {
    const runs: [boolean, number][] = [];
    for (let i = 0; i < CAPTURE_BM_BITS; i++) {
      const bit = ((words[i >> 3] >> (i & 7)) & 1) === 1;
      if (runs.length && runs[runs.length - 1][0] === bit) runs[runs.length - 1][1]++;
      else runs.push([bit, 1]);
    }
    return runs;
  };

  it('initial sync: one compressed packet b2 7f c4 66 00 = all 34805 bits set, both ways', () => {
    const ts = transfers('initial-sync-start');
    expect(ts.length).toBe(2);
    for (const t of ts) {
      expect(t.map((f) => f.payload.toString('hex'))).toEqual(['b27fc46600']);
      const bits = wire.decodeBitmapPackets(t.map((f) => ({ command: f.command, payload: f.payload })), CAPTURE_BM_BITS);
      expect(setBits(bits)).toEqual([[true, CAPTURE_BM_BITS]]);
    }
  });

  it('reconnect: the compressed bitmaps carry exactly the spec runs', () => {
    for (const t of transfers('reconnect-compressed-bitmap-resync')) {
      expect(t.map((f) => f.payload.toString('hex'))).toEqual(['02dfe537f3b312f3d3e6f8d31c02']);
      const bits = wire.decodeBitmapPackets(t.map((f) => ({ command: f.command, payload: f.payload })), CAPTURE_BM_BITS);
      expect(setBits(bits)).toEqual([[false, 200], [true, 100], [false, 4700], [true, 3], [false, 3998], [true, 1], [false, 25803]]);
      expect(dec(t[0])).toEqual({ firstSet: false, runs: [200, 100, 4700, 3, 3998, 1, 25803] });
    }
  });

  it('plain bitmaps: 4080 + 272 + empty terminator', () => {
    for (const name of ['reconnect-auth-plain-bitmap-csums', 'diskless-read-attach']) {
      const ts = transfers(name);
      expect(ts.length).toBe(2);
      for (const t of ts) {
        expect(t.map((f) => [f.command, f.length])).toEqual([[4, 4080], [4, 272], [4, 0]]);
        wire.decodeBitmapPackets(t.map((f) => ({ command: f.command, payload: f.payload })), CAPTURE_BM_BITS);
      }
    }
  });

  it('our encoder produces the kernel packet sequence for every captured bitmap', () => {
    const cases: [string, boolean][] = [
      ['initial-sync-start', true],
      ['reconnect-compressed-bitmap-resync', true],
      ['reconnect-auth-plain-bitmap-csums', false],
      ['diskless-read-attach', false],
    ];
    for (const [name, useRle] of cases) {
      for (const t of transfers(name)) {
        const pk = t.map((f) => ({ command: f.command, payload: f.payload }));
        const bits = wire.decodeBitmapPackets(pk, CAPTURE_BM_BITS);
        const again = wire.encodeBitmap(bits, CAPTURE_BM_BITS, useRle);
        expect(again.map((p) => [p.command, p.payload.toString('hex')])).toEqual(pk.map((p) => [p.command, p.payload.toString('hex')]));
      }
    }
  });
});

describe('captured verify, checksums and authentication', () => {
  it('P_OV_RESULT says in sync with block_id 4711 (big-endian) for every block', () => {
    const results = of('online-verify', 'P_OV_RESULT').map((f) => dec(f));
    expect(results.length).toBe(256);
    for (const r of results) {
      expect(r.blockId!.readBigUInt64BE(0)).toBe(4711n);
      expect(r.blksize).toBe(4096);
    }
  });

  it('P_OV_REPLY digests are crc32c (little-endian) of the blocks the captures carried', () => {
    // Every 4 KiB block any capture transferred; the verified region holds zeros and such blocks.
    const known = new Set<string>();
    for (const name of ['initial-sync-start', 'reconnect-compressed-bitmap-resync', 'protocol-c-write', 'protocol-b-write', 'reconnect-auth-plain-bitmap-csums']) {
      for (const f of loadCapture(name).frames) {
        if (f.command > CMD.P_RS_DATA_REPLY) continue;
        const d = dec(f, 0).data!;
        for (let o = 0; o < d.length; o += 4096) known.add(wire.digest('crc32c', d.subarray(o, o + 4096)).toString('hex'));
      }
    }
    const zero = Buffer.alloc(4096);
    const c = wire.crc32c(zero);
    const le = Buffer.alloc(4);
    le.writeUInt32LE(c);
    expect(wire.digest('crc32c', zero).equals(le)).toBe(true);
    const replies = of('online-verify', 'P_OV_REPLY').map((f) => dec(f, 4));
    expect(replies.length).toBe(256);
    const zeros = replies.filter((r) => r.digest!.equals(le)).length;
    expect(zeros).toBeGreaterThan(100); // most of the region was never written
    for (const r of replies) expect(known.has(r.digest!.toString('hex')) || r.digest!.equals(le)).toBe(true);
  });

  it('P_CSUM_RS_REQUEST digests are md5 of the target block (all-zero blocks)', () => {
    // diskless-read-attach: the re-attached disk held zeros there.
    const [d] = of('diskless-read-attach', 'P_CSUM_RS_REQUEST').map((f) => dec(f, 16));
    expect(d.digest!.equals(wire.digest('md5', Buffer.alloc(d.blksize!)))).toBe(true);
    // reconnect-auth: the block answered P_RS_IS_IN_SYNC was zeros on both sides.
    const reqs = of('reconnect-auth-plain-bitmap-csums', 'P_CSUM_RS_REQUEST').map((f) => dec(f, 16));
    const inSync = of('reconnect-auth-plain-bitmap-csums', 'P_RS_IS_IN_SYNC').map((f) => dec(f));
    expect(inSync.length).toBe(1);
    const r = reqs.find((q) => q.sector === inSync[0].sector)!;
    expect(r.blksize).toBe(inSync[0].blksize);
    expect(r.digest!.equals(wire.digest('md5', Buffer.alloc(r.blksize!)))).toBe(true);
  });

  it('P_AUTH_RESPONSE = HMAC-SHA1("udrbd-wire-test", the peer challenge), both ways', () => {
    const frames = loadCapture('reconnect-auth-plain-bitmap-csums').frames;
    const challenges = frames.filter((f) => f.command === CMD.P_AUTH_CHALLENGE);
    const responses = frames.filter((f) => f.command === CMD.P_AUTH_RESPONSE);
    expect(challenges.map((f) => f.length)).toEqual([64, 64]);
    expect(responses.map((f) => f.length)).toEqual([20, 20]);
    for (const resp of responses) {
      // The response answers the challenge that travelled the other way.
      const peerChallenge = challenges.find((c) => c.src === resp.dst)!.payload;
      const ownChallenge = challenges.find((c) => c.src === resp.src)!.payload;
      expect(wire.authResponse('sha1', 'udrbd-wire-test', peerChallenge).equals(resp.payload)).toBe(true);
      expect(wire.hmac('sha1', Buffer.from('udrbd-wire-test'), peerChallenge).equals(resp.payload)).toBe(true);
      // The challenger's verification of that response.
      expect(wire.verifyAuthResponse('sha1', 'udrbd-wire-test', peerChallenge, resp.payload)).toBe(true);
      expect(wire.verifyAuthResponse('sha1', 'wrong-secret', peerChallenge, resp.payload)).toBe(false);
      expect(() => wire.checkPeerChallenge(peerChallenge, ownChallenge)).not.toThrow();
    }
  });
});
