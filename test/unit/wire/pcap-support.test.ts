// The test-support pcap reader and DRBD splitter, on synthetic captures: retransmissions,
// out-of-order segments and holes must neither duplicate nor lose bytes silently.
import { describe, expect, it } from 'vitest';
import { parsePcap, reassemble, tcpSegments } from '../../support/pcap.js';
import { splitDrbdFrames } from '../../support/drbd-frames.js';

/** A classic little-endian pcap of Ethernet/IPv4/TCP frames. */
function pcap(frames: { src: [number, number]; dst: [number, number]; seq: number; flags?: number; data?: Buffer }[]): Buffer {
  const parts = [Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex')];
  frames.forEach((f, i) => {
    const data = f.data ?? Buffer.alloc(0);
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(0x0800, 12);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 20 + data.length, 2);
    ip[9] = 6;
    ip.writeUInt32BE(f.src[0], 12);
    ip.writeUInt32BE(f.dst[0], 16);
    const tcp = Buffer.alloc(20);
    tcp.writeUInt16BE(f.src[1], 0);
    tcp.writeUInt16BE(f.dst[1], 2);
    tcp.writeUInt32BE(f.seq >>> 0, 4);
    tcp[12] = 5 << 4;
    tcp[13] = f.flags ?? 0x18;
    const frame = Buffer.concat([eth, ip, tcp, data]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(i, 0);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, frame);
  });
  return Buffer.concat(parts);
}

const A: [number, number] = [0x0a630001, 7789];
const B: [number, number] = [0x0a630002, 40000];

describe('pcap support', () => {
  it('reassembles out-of-order and retransmitted segments exactly once, across seq wrap', () => {
    const base = 0xfffffff0;
    const d = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
    const buf = pcap([
      { src: B, dst: A, seq: base - 1, flags: 0x02 }, // SYN
      { src: B, dst: A, seq: base + 10, data: d.subarray(10, 20) }, // early
      { src: B, dst: A, seq: base, data: d.subarray(0, 12) }, // overlaps the early one
      { src: B, dst: A, seq: base, data: d.subarray(0, 5) }, // retransmission
      { src: B, dst: A, seq: base + 20, data: d.subarray(20) },
    ]);
    const flows = reassemble(tcpSegments(parsePcap(buf)));
    expect(flows.length).toBe(1);
    expect(flows[0].data.toString()).toBe(d.toString());
    expect(flows[0].gaps).toEqual([]);
  });

  it('records holes instead of hiding them, and the splitter refuses such streams', () => {
    const buf = pcap([
      { src: B, dst: A, seq: 99, flags: 0x02 },
      { src: B, dst: A, seq: 100, data: Buffer.from('83740267fff20000', 'hex') },
      { src: B, dst: A, seq: 120, data: Buffer.from('x') },
    ]);
    const flows = reassemble(tcpSegments(parsePcap(buf)));
    expect(flows[0].gaps).toEqual([{ offset: 8, length: 12 }]);
    expect(() => splitDrbdFrames(flows)).toThrow(/gaps/);
  });

  it('splits h80 packets until both feature packets are seen, then h100', () => {
    const feat = Buffer.concat([Buffer.from('83740267fffe0048', 'hex'), Buffer.alloc(72)]);
    const h100 = Buffer.from('8620ec200000000e0000000400000000' + '000088aa', 'hex');
    const buf = pcap([
      { src: B, dst: A, seq: 0, flags: 0x02 },
      { src: A, dst: B, seq: 1000, flags: 0x12 },
      { src: B, dst: A, seq: 1, data: Buffer.concat([Buffer.from('83740267fff20000', 'hex'), feat]) },
      { src: A, dst: B, seq: 1001, data: feat },
      { src: B, dst: A, seq: 1 + 8 + 80, data: h100 },
    ]);
    const frames = splitDrbdFrames(reassemble(tcpSegments(parsePcap(buf))));
    expect(frames.map((f) => [f.kind, f.command])).toEqual([['h80', 0xfff2], ['h80', 0xfffe], ['h80', 0xfffe], ['h100', 0x0e]]);
    // Before the peer's features an h100 header is a wrong-magic error.
    const early = pcap([
      { src: B, dst: A, seq: 0, flags: 0x02 },
      { src: B, dst: A, seq: 1, data: Buffer.concat([feat, h100]) },
    ]);
    expect(() => splitDrbdFrames(reassemble(tcpSegments(parsePcap(early))))).toThrow(/expected h80/);
  });
});
