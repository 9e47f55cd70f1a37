// native/wire.*: headers (kernel error texts), features negotiation, auth helpers, digests,
// data-path packet layouts and the meta-socket size table.
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { native } from '../../../src/engine/native.js';
import { CMD, COMMANDS } from '../../../src/protocol/index.js';

const wire = native().wire;
const code = (c: string) => expect.objectContaining({ code: c });

describe('headers (§2)', () => {
  it('encodes h80 and h100 exactly as captured', () => {
    expect(wire.encodeHeader(80, 0xfff2, 0).toString('hex')).toBe('83740267fff20000');
    expect(wire.encodeHeader(80, 0xfffe, 72).toString('hex')).toBe('83740267fffe0048');
    expect(wire.encodeHeader(101, CMD.P_STATE, 4).toString('hex')).toBe('8620ec200000000e0000000400000000');
    expect(wire.headerSize(80)).toBe(8);
    expect(wire.headerSize(100)).toBe(16);
  });

  it('uses h95 only at 95..99 for payloads over 32 KiB', () => {
    expect(wire.encodeHeader(96, 0, 40000).toString('hex')).toBe('835a000000009c40');
    expect(wire.decodeHeader(96, Buffer.from('835a000000009c40', 'hex'))).toEqual({ command: 0, volume: 0, length: 40000 });
    expect(wire.encodeHeader(96, 0, 32768).subarray(0, 4).toString('hex')).toBe('83740267');
    expect(() => wire.encodeHeader(90, 0, 70000)).toThrow(code('ERR_WIRE_ARGUMENT'));
  });

  it('rejects the wrong magic and non-zero padding with the kernel messages', () => {
    const h100 = wire.encodeHeader(101, 0, 0);
    expect(() => wire.decodeHeader(80, h100.subarray(0, 8))).toThrow('Wrong magic value 0x8620ec20 in protocol version 80');
    expect(() => wire.decodeHeader(101, Buffer.concat([wire.encodeHeader(80, 0, 0), Buffer.alloc(8)]))).toThrow(
      'Wrong magic value 0x83740267 in protocol version 101',
    );
    const padded = Buffer.from(h100);
    padded[15] = 1;
    expect(() => wire.decodeHeader(101, padded)).toThrow('Header padding is not zero');
    expect(() => wire.decodeHeader(101, padded)).toThrow(code('ERR_WIRE_PADDING'));
    expect(() => wire.decodeHeader(101, h100.subarray(0, 15))).toThrow(code('ERR_WIRE_LENGTH'));
  });
});

describe('feature exchange (§6.2)', () => {
  it('encodes 72 bytes and negotiates like the kernel', () => {
    const f = wire.encodePacket(0xfffe, { protocolMin: 100, featureFlags: 0, protocolMax: 101 });
    expect(f.toString('hex')).toBe('00000064' + '00000000' + '00000065' + '00'.repeat(60));
    const kernel = { protocolMin: 86, featureFlags: 0xf, protocolMax: 101 };
    expect(wire.negotiate({ protocolMin: 100, featureFlags: 0, protocolMax: 101 }, kernel)).toEqual({ version: 101, features: 0 });
    expect(wire.negotiate({ protocolMin: 86, featureFlags: 0xf, protocolMax: 101 }, { protocolMin: 86, featureFlags: 0x3, protocolMax: 0 })).toEqual({
      version: 86,
      features: 0x3,
    });
    expect(() => wire.negotiate({ protocolMin: 100, featureFlags: 0, protocolMax: 101 }, { protocolMin: 86, featureFlags: 0, protocolMax: 96 })).toThrow(
      'incompatible DRBD dialects: I support 100-101, peer supports 86-96',
    );
    expect(() => wire.decodePacket(0xfffe, Buffer.alloc(64))).toThrow(code('ERR_WIRE_LENGTH'));
  });
});

describe('authentication (§6.3)', () => {
  it('challenges are 64 fresh random bytes', () => {
    const a = wire.makeChallenge();
    const b = wire.makeChallenge();
    expect(a.length).toBe(64);
    expect(a.equals(b)).toBe(false);
  });

  it('checks the peer challenge size and refuses our own challenge', () => {
    const own = wire.makeChallenge();
    expect(() => wire.checkPeerChallenge(own, own)).toThrow('Peer presented the same challenge!');
    expect(() => wire.checkPeerChallenge(Buffer.alloc(63), own)).toThrow('AuthChallenge payload too small.');
    expect(() => wire.checkPeerChallenge(Buffer.alloc(129), own)).toThrow(/too big/);
    expect(() => wire.checkPeerChallenge(Buffer.alloc(128, 1), own)).not.toThrow();
  });

  it('responses are HMAC(secret, challenge) and verified in constant size', () => {
    const ch = wire.makeChallenge();
    for (const alg of ['sha1', 'sha256', 'md5', 'sha512']) {
      const r = wire.authResponse(alg, 'secret', ch);
      expect(r.equals(createHmac(alg, 'secret').update(ch).digest())).toBe(true);
      expect(wire.verifyAuthResponse(alg, 'secret', ch, r)).toBe(true);
      expect(() => wire.verifyAuthResponse(alg, 'secret', ch, r.subarray(1))).toThrow(code('ERR_WIRE_AUTH'));
    }
    expect(() => wire.authResponse('nosuchalg', 'x', ch)).toThrow(code('ERR_WIRE_ALGORITHM'));
  });
});

describe('digests', () => {
  it('crc32c is Castagnoli with the standard check value, little-endian as a digest', () => {
    expect(wire.crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(wire.digest('crc32c', Buffer.from('123456789')).toString('hex')).toBe('839206e3');
    expect(wire.crc32c(Buffer.alloc(32))).toBe(0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    expect(wire.crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43); // RFC 3720 B.4: 32 bytes of ones
    // Continuation gives the same result as one pass, over odd split points.
    const d = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff));
    expect(wire.crc32c(d.subarray(13), wire.crc32c(d.subarray(0, 13)))).toBe(wire.crc32c(d));
    expect(wire.digestSize('crc32c')).toBe(4);
  });

  it('OpenSSL digests by kernel name match node:crypto', () => {
    const d = Buffer.from('udrbd');
    for (const [alg, size] of [['md5', 16], ['sha1', 20], ['sha256', 32], ['sha512', 64]] as const) {
      expect(wire.digestSize(alg)).toBe(size);
      expect(wire.digest(alg, d).equals(createHash(alg).update(d).digest())).toBe(true);
    }
    expect(() => wire.digest('', d)).toThrow(code('ERR_WIRE_ALGORITHM'));
    expect(() => wire.hmac('crc32c', d, d)).toThrow(code('ERR_WIRE_ALGORITHM'));
  });
});

describe('data-path packets (§4.1)', () => {
  const blockId = Buffer.from('40b5911d744421ff', 'hex');

  it('p_data: BE integers, raw block_id, digest then data', () => {
    const p = wire.encodePacket(CMD.P_DATA, { sector: 80n, blockId, seqNum: 1, dpFlags: 0x102, digest: Buffer.alloc(4, 0xaa), data: Buffer.alloc(512, 1) });
    expect(p.subarray(0, 28).toString('hex')).toBe('0000000000000050' + '40b5911d744421ff' + '00000001' + '00000102' + 'aaaaaaaa');
    const d = wire.decodePacket(CMD.P_DATA, p, 4);
    expect(d).toMatchObject({ sector: 80n, blockId, seqNum: 1, dpFlags: 0x102 });
    expect(d.data!.length).toBe(512);
    expect(() => wire.decodePacket(CMD.P_DATA, p.subarray(0, 24 + 4 + 100), 4)).toThrow(/multiple of 512/);
    expect(() => wire.decodePacket(CMD.P_DATA, p.subarray(0, 20))).toThrow(code('ERR_WIRE_LENGTH'));
  });

  it('acks, barriers, block descriptors, trim, delay probe', () => {
    const ack = wire.encodePacket(CMD.P_WRITE_ACK, { sector: 80n, blockId, blksize: 4096, seqNum: 216 });
    expect(ack.toString('hex')).toBe('0000000000000050' + '40b5911d744421ff' + '00001000' + '000000d8');
    expect(wire.encodePacket(CMD.P_BARRIER, { barrier: Buffer.from('7f000000', 'hex') }).toString('hex')).toBe('7f00000000000000');
    expect(wire.encodePacket(CMD.P_BARRIER_ACK, { barrier: Buffer.from('7f000000', 'hex'), setSize: 3 }).toString('hex')).toBe('7f00000000000003');
    expect(wire.encodePacket(CMD.P_OUT_OF_SYNC, { sector: 8n, blksize: 4096 }).toString('hex')).toBe('0000000000000008' + '00001000' + '00000000');
    const trim = wire.encodePacket(CMD.P_TRIM, { sector: 8n, blockId, seqNum: 2, dpFlags: 64, size: 1 << 20 });
    expect(trim.length).toBe(28);
    expect(wire.decodePacket(CMD.P_TRIM, trim)).toEqual({ sector: 8n, blockId, seqNum: 2, dpFlags: 64, size: 1 << 20 });
    expect(wire.decodePacket(CMD.P_ZEROES, trim)).toMatchObject({ size: 1 << 20 });
    expect(wire.decodePacket(CMD.P_DELAY_PROBE, Buffer.from('0000000100000002', 'hex'))).toEqual({ seqNum: 1, offset: 2 });
    expect(() => wire.encodePacket(CMD.P_BARRIER, { barrier: Buffer.alloc(8) })).toThrow(code('ERR_WIRE_ARGUMENT'));
  });

  it('P_OV_RESULT block_id 4711/4712 is big-endian', () => {
    const r = wire.encodePacket(CMD.P_OV_RESULT, { sector: 0n, blockId: Buffer.from('0000000000001267', 'hex'), blksize: 4096, seqNum: 1 });
    expect(wire.decodePacket(CMD.P_OV_RESULT, r).blockId!.readBigUInt64BE(0)).toBe(4711n);
  });

  it('meta-socket sizes are exact, as the kernel requires', () => {
    for (const c of COMMANDS) {
      const size = wire.metaPayloadSize(c.cmd);
      if (c.sock === 'meta' && c.name !== 'P_INITIAL_META') {
        expect(size, c.name).toBe(c.size);
        wire.checkPayloadSize(c.cmd, size, 'meta');
        expect(() => wire.checkPayloadSize(c.cmd, size + 1, 'meta'), c.name).toThrow(/Wrong packet size on meta/);
      } else if (c.sock !== 'both') {
        expect(size, c.name).toBe(-1);
      }
    }
    expect(wire.metaPayloadSize(CMD.P_DELAY_PROBE)).toBe(8);
    expect(() => wire.checkPayloadSize(CMD.P_DATA, 24, 'meta')).toThrow('Unexpected meta packet P_DATA (0x0000)');
    expect(() => wire.checkPayloadSize(CMD.P_PING, 0, 'data')).toThrow('Unexpected data packet P_PING (0x0013)');
    expect(() => wire.checkPayloadSize(CMD.P_WSAME, 28, 'data')).toThrow(code('ERR_WIRE_COMMAND'));
  });

  it('data-socket fixed sizes follow §3/§4, P_SIZES by FF_WSAME', () => {
    expect(wire.fixedPayloadSize(CMD.P_SIZES, 0)).toBe(32);
    expect(wire.fixedPayloadSize(CMD.P_SIZES, 4)).toBe(56);
    expect(wire.fixedPayloadSize(CMD.P_SYNC_PARAM89)).toBe(148);
    expect(wire.fixedPayloadSize(CMD.P_DATA)).toBe(-1);
    expect(wire.fixedPayloadSize(0x26)).toBe(-2);
    for (const c of COMMANDS) {
      if (typeof c.size === 'number' && c.name !== 'P_SIZES') expect(wire.fixedPayloadSize(c.cmd), c.name).toBe(c.size);
    }
    expect(() => wire.checkPayloadSize(CMD.P_SYNC_PARAM89, 140, 'data')).toThrow(/unexpected packet size 140/);
    expect(() => wire.checkPayloadSize(CMD.P_BITMAP, 4088, 'data')).toThrow(/too large/);
    expect(() => wire.checkPayloadSize(CMD.P_DATA, 24 + (1 << 20) + 512, 'data', 0, 0)).toThrow(/max_bio_size/);
  });
});
