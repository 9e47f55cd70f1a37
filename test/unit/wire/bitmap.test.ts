// Bitmap codec: the spec's worked examples, the VLI table boundaries, the kernel's sender
// behaviour (compress or plain, terminator rules) and malformed transfers.
import { describe, expect, it } from 'vitest';
import { native } from '../../../src/engine/native.js';

const wire = native().wire;
const P_BITMAP = 0x04;
const P_COMPRESSED_BITMAP = 0x24;

/** Bitmap bytes (LSB-first) with the given [start, length) ranges set. */
function bitmap(nbits: number, ranges: [number, number][]): Buffer {
  const b = Buffer.alloc(Math.ceil(nbits / 64) * 8);
  for (const [s, n] of ranges) for (let i = s; i < s + n; i++) b[i >> 3] |= 1 << (i & 7);
  return b;
}

function randomBitmap(nbits: number, density: number, seed: number): Buffer {
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const b = Buffer.alloc(Math.ceil(nbits / 64) * 8);
  for (let i = 0; i < nbits; i++) if (rnd() < density) b[i >> 3] |= 1 << (i & 7);
  return b;
}

describe('RLE/VLI code', () => {
  it('decodes the spec worked examples', () => {
    expect(wire.decodePacket(P_COMPRESSED_BITMAP, Buffer.from('b27fc46600', 'hex'))).toEqual({ firstSet: true, runs: [34805] });
    expect(wire.decodePacket(P_COMPRESSED_BITMAP, Buffer.from('02dfe537f3b312f3d3e6f8d31c02', 'hex'))).toEqual({
      firstSet: false,
      runs: [200, 100, 4700, 3, 3998, 1, 25803],
    });
  });

  it('encodes the spec worked examples byte for byte', () => {
    expect(wire.encodePacket(P_COMPRESSED_BITMAP, { firstSet: true, runs: [34805] }).toString('hex')).toBe('b27fc46600');
    expect(wire.encodePacket(P_COMPRESSED_BITMAP, { firstSet: false, runs: [200, 100, 4700, 3, 3998, 1, 25803] }).toString('hex')).toBe(
      '02dfe537f3b312f3d3e6f8d31c02',
    );
  });

  it('round-trips the first and last value of every VLI level with the table code lengths', () => {
    // [first value, last value, total bits] per level (§9 table).
    const levels: [number, number, number][] = [
      [1, 2, 2],
      [3, 4, 3],
      [5, 8, 5],
      [9, 16, 7],
      [17, 48, 10],
      [49, 304, 14],
      [305, 8496, 21],
      [8497, 2105648, 29],
      [2105649, 17181974832, 42],
      [17181974833, 2 ** 53 - 1, 64], // JS numbers stop at 2^53; the level's top is beyond
    ];
    for (const [lo, hi, bits] of levels) {
      for (const v of [lo, hi]) {
        const p = wire.encodePacket(P_COMPRESSED_BITMAP, { firstSet: false, runs: [v] });
        expect(p.length - 1, `bytes for ${v}`).toBe(Math.ceil(bits / 8));
        expect((p[0] >> 4) & 7, `pad bits for ${v}`).toBe((8 - (bits % 8)) % 8);
        expect(wire.decodePacket(P_COMPRESSED_BITMAP, p)).toEqual({ firstSet: false, runs: [v] });
      }
    }
  });

  it('rejects run length 0, unknown encodings and truncated codes', () => {
    expect(() => wire.encodePacket(P_COMPRESSED_BITMAP, { firstSet: false, runs: [0] })).toThrow(expect.objectContaining({ code: 'ERR_WIRE_ARGUMENT' }));
    expect(() => wire.decodePacket(P_COMPRESSED_BITMAP, Buffer.from('03ff', 'hex'))).toThrow(/unknown encoding 3/);
    // 0x7f = the 8-bit prefix of a 29-bit code with no data bits after it.
    expect(() => wire.decodePacket(P_COMPRESSED_BITMAP, Buffer.from('027f', 'hex'))).toThrow(expect.objectContaining({ code: 'ERR_WIRE_BITMAP' }));
    expect(() => wire.decodePacket(P_COMPRESSED_BITMAP, Buffer.from('02', 'hex'))).toThrow(expect.objectContaining({ code: 'ERR_WIRE_LENGTH' }));
  });
});

describe('bitmap transfer encoder (kernel behaviour)', () => {
  const N = 34805;

  it('plain: 510-word chunks, then the last chunk, then an empty terminator', () => {
    const pk = wire.encodeBitmap(bitmap(N, [[0, N]]), N, false);
    expect(pk.map((p) => [p.command, p.payload.length])).toEqual([[P_BITMAP, 4080], [P_BITMAP, 272], [P_BITMAP, 0]]);
    // Bits past nbits in the last word are sent as 0.
    const last = pk[1].payload.readBigUInt64LE(272 - 8);
    expect(last).toBe((1n << BigInt(N % 64)) - 1n);
  });

  it('compressed: a transfer that ends in a compressed packet has no terminator', () => {
    const pk = wire.encodeBitmap(bitmap(N, []), N, true);
    expect(pk.map((p) => p.command)).toEqual([P_COMPRESSED_BITMAP]);
    expect(wire.decodePacket(P_COMPRESSED_BITMAP, pk[0].payload)).toEqual({ firstSet: false, runs: [N] });
  });

  it('falls back to plain chunks where runs do not compress, and resumes compressing after them', () => {
    // Alternating bits over the first 3 chunks' worth of words, then a long clear tail.
    const nbits = 510 * 64 * 3 + 100000;
    const noisy = randomBitmap(510 * 64 * 3, 0.5, 7);
    const bits = Buffer.alloc(Math.ceil(nbits / 64) * 8);
    noisy.copy(bits);
    const pk = wire.encodeBitmap(bits, nbits, true);
    expect(pk.slice(0, 3).map((p) => [p.command, p.payload.length])).toEqual([[P_BITMAP, 4080], [P_BITMAP, 4080], [P_BITMAP, 4080]]);
    expect(pk.at(-1)!.command).toBe(P_COMPRESSED_BITMAP);
    expect(pk.every((p) => p.payload.length <= 4080)).toBe(true);
    expect(wire.decodeBitmapPackets(pk, nbits).equals(bits)).toBe(true);
  });

  it('a transfer ending with a plain chunk gets the empty terminator even with RLE on', () => {
    // Long clear head (compresses), then noise up to the end (does not: plain chunks).
    const nbits = 64 * 4000;
    const bits = randomBitmap(nbits, 0.5, 3);
    bits.fill(0, 0, 1000 * 8);
    const pk = wire.encodeBitmap(bits, nbits, true);
    expect(pk[0].command).toBe(P_COMPRESSED_BITMAP);
    expect(pk.at(-1)).toEqual({ command: P_BITMAP, payload: Buffer.alloc(0) });
    expect(wire.decodeBitmapPackets(pk, nbits).equals(bits)).toBe(true);
  });

  it('round-trips random bitmaps of many sizes and densities in both modes', () => {
    for (const nbits of [1, 63, 64, 65, 4079 * 8, 34805, 200000]) {
      for (const density of [0, 0.001, 0.05, 0.5, 0.999, 1]) {
        const bits = randomBitmap(nbits, density, nbits + Math.round(density * 1000));
        for (const rle of [false, true]) {
          const pk = wire.encodeBitmap(bits, nbits, rle);
          expect(pk.every((p) => p.payload.length <= 4080)).toBe(true);
          expect(wire.decodeBitmapPackets(pk, nbits).equals(bits), `${nbits} bits, density ${density}, rle ${rle}`).toBe(true);
        }
      }
    }
  });
});

describe('bitmap transfer decoder errors', () => {
  it('rejects a plain chunk of the wrong size with the kernel wording', () => {
    expect(() => wire.decodeBitmapPackets([{ command: P_BITMAP, payload: Buffer.alloc(4072) }], 34805)).toThrow(
      /want \(4080\) != size \(4072\)/,
    );
  });

  it('rejects runs past the end, packets after completion, incomplete transfers and foreign commands', () => {
    const over = wire.encodePacket(P_COMPRESSED_BITMAP, { firstSet: true, runs: [101] });
    expect(() => wire.decodeBitmapPackets([{ command: P_COMPRESSED_BITMAP, payload: over }], 100)).toThrow(/bitmap overflow/);
    const done = wire.encodePacket(P_COMPRESSED_BITMAP, { firstSet: true, runs: [100] });
    expect(() => wire.decodeBitmapPackets([{ command: P_COMPRESSED_BITMAP, payload: done }, { command: P_BITMAP, payload: Buffer.alloc(0) }], 100)).toThrow(
      /after the transfer was complete/,
    );
    const half = wire.encodePacket(P_COMPRESSED_BITMAP, { firstSet: true, runs: [50] });
    expect(() => wire.decodeBitmapPackets([{ command: P_COMPRESSED_BITMAP, payload: half }], 100)).toThrow(/incomplete/);
    expect(() => wire.decodeBitmapPackets([{ command: 0x00, payload: Buffer.alloc(0) }], 100)).toThrow(/neither ReportBitMap nor ReportCBitMap/);
  });

  it('continues a plain chunk after a compressed packet at the word holding the position', () => {
    // 100 clear bits compressed, then the plain rest starts at word 1 (bit 64).
    const nbits = 200;
    const rle = wire.encodePacket(P_COMPRESSED_BITMAP, { firstSet: false, runs: [100] });
    // nbits 200 = 4 words; the plain chunk covers words 1..3.
    const plain = Buffer.alloc(24);
    plain[(150 - 64) >> 3] |= 1 << ((150 - 64) & 7);
    const out = wire.decodeBitmapPackets(
      [
        { command: P_COMPRESSED_BITMAP, payload: rle },
        { command: P_BITMAP, payload: plain },
        { command: P_BITMAP, payload: Buffer.alloc(0) },
      ],
      nbits,
    );
    expect(out.equals(bitmap(nbits, [[150, 1]]))).toBe(true);
  });
});
