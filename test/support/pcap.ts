// Test support: a reader for classic pcap files (Ethernet / IPv4 / TCP) with per-direction TCP
// stream reassembly. Written from the pcap file format and the IPv4/TCP header layouts; it only
// needs to be good enough for the golden kernel captures (no IPv6, no IP fragments, no SACK
// reconstruction), but it must never silently lose or duplicate stream bytes: gaps are reported.
import { readFileSync } from 'node:fs';

export interface PcapRecord {
  /** 1-based frame number, as tshark counts them (the .txt decodes use it). */
  frame: number;
  /** Capture time in seconds since the epoch. */
  time: number;
  /** Captured bytes (may be shorter than origLen if the snap length cut it). */
  data: Buffer;
  origLen: number;
}

export interface Pcap {
  linkType: number;
  snapLen: number;
  records: PcapRecord[];
}

const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;

export function parsePcap(buf: Buffer): Pcap {
  if (buf.length < 24) throw new Error('pcap: file shorter than its 24-byte global header');
  // The magic tells both the byte order of the file and the timestamp resolution.
  let le: boolean;
  let nsec: boolean;
  const m = buf.readUInt32LE(0);
  if (m === MAGIC_USEC || m === MAGIC_NSEC) {
    le = true;
    nsec = m === MAGIC_NSEC;
  } else {
    const mb = buf.readUInt32BE(0);
    if (mb !== MAGIC_USEC && mb !== MAGIC_NSEC) throw new Error(`pcap: bad magic 0x${m.toString(16)}`);
    le = false;
    nsec = mb === MAGIC_NSEC;
  }
  const u32 = (off: number) => (le ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
  const snapLen = u32(16);
  const linkType = u32(20) & 0x0fffffff; // upper bits may carry FCS info
  const records: PcapRecord[] = [];
  let off = 24;
  while (off < buf.length) {
    if (off + 16 > buf.length) throw new Error(`pcap: truncated record header at offset ${off}`);
    const sec = u32(off);
    const frac = u32(off + 4);
    const inclLen = u32(off + 8);
    const origLen = u32(off + 12);
    if (off + 16 + inclLen > buf.length) throw new Error(`pcap: truncated record at offset ${off}`);
    records.push({
      frame: records.length + 1,
      time: sec + frac / (nsec ? 1e9 : 1e6),
      data: buf.subarray(off + 16, off + 16 + inclLen),
      origLen,
    });
    off += 16 + inclLen;
  }
  return { linkType, snapLen, records };
}

export interface TcpSegment {
  frame: number;
  time: number;
  src: string; // "a.b.c.d:port"
  dst: string;
  seq: number;
  ack: number;
  syn: boolean;
  /** ACK flag: tells a SYN-ACK from a SYN */
  ackFlag: boolean;
  fin: boolean;
  rst: boolean;
  payload: Buffer;
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_VLAN = 0x8100;
const IPPROTO_TCP = 6;

function ip4(b: Buffer, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** Extracts the TCP segments (non-TCP frames such as ARP are skipped). */
export function tcpSegments(pcap: Pcap): TcpSegment[] {
  if (pcap.linkType !== LINKTYPE_ETHERNET) throw new Error(`pcap: unsupported link type ${pcap.linkType}`);
  const out: TcpSegment[] = [];
  for (const r of pcap.records) {
    const d = r.data;
    if (r.origLen !== d.length) throw new Error(`pcap: frame ${r.frame} was cut by the snap length`);
    let off = 12;
    if (d.length < 14) continue;
    let type = d.readUInt16BE(off);
    off += 2;
    while (type === ETHERTYPE_VLAN) {
      type = d.readUInt16BE(off + 2);
      off += 4;
    }
    if (type !== ETHERTYPE_IPV4) continue;
    const ihl = (d[off] & 0x0f) * 4;
    const totalLen = d.readUInt16BE(off + 2);
    const fragField = d.readUInt16BE(off + 6);
    if ((fragField & 0x3fff) !== 0) throw new Error(`pcap: frame ${r.frame} is an IP fragment (unsupported)`);
    if (d[off + 9] !== IPPROTO_TCP) continue;
    const src = ip4(d, off + 12);
    const dst = ip4(d, off + 16);
    // totalLen, not the frame length: Ethernet pads short frames to 60 bytes.
    const ipEnd = off + totalLen;
    const t = off + ihl;
    const dataOff = (d[t + 12] >> 4) * 4;
    const flags = d[t + 13];
    out.push({
      frame: r.frame,
      time: r.time,
      src: `${src}:${d.readUInt16BE(t)}`,
      dst: `${dst}:${d.readUInt16BE(t + 2)}`,
      seq: d.readUInt32BE(t + 4),
      ack: d.readUInt32BE(t + 8),
      syn: (flags & 0x02) !== 0,
      ackFlag: (flags & 0x10) !== 0,
      fin: (flags & 0x01) !== 0,
      rst: (flags & 0x04) !== 0,
      payload: d.subarray(t + dataOff, ipEnd),
    });
  }
  return out;
}

/** One direction of one TCP connection, reassembled. */
export interface TcpFlow {
  /** Index of the connection in capture order (both directions share it). */
  conn: number;
  src: string;
  dst: string;
  /** True if the SYN of this direction was captured (the stream starts at its first byte). */
  sawSyn: boolean;
  /** Frame of the SYN (or of the first segment seen, if the connection predates the capture). */
  startFrame: number;
  data: Buffer;
  /** Which frame delivered each stretch of `data` (ascending offsets). */
  chunks: { offset: number; frame: number; time: number }[];
  /** Stretches of sequence space never seen (the stream is incomplete there). */
  gaps: { offset: number; length: number }[];
}

const seqDiff = (a: number, b: number) => ((a - b) | 0); // 32-bit wrap-aware a - b

/**
 * Reassembles every TCP direction. A new SYN on a 4-tuple starts a new connection (the captures
 * contain reconnects that may reuse ports). Retransmitted bytes are taken once; out-of-order
 * segments wait for the hole to fill; holes that never fill are recorded in `gaps` and the
 * stream continues after them.
 */
export function reassemble(segments: TcpSegment[]): TcpFlow[] {
  interface State {
    flow: TcpFlow;
    next: number | undefined; // next expected sequence number
    parts: Buffer[];
    length: number;
    pending: TcpSegment[];
  }
  const flows: TcpFlow[] = [];
  const states: State[] = [];
  const active = new Map<string, State>();
  const connOf = new Map<string, number>(); // unordered 4-tuple -> current connection index
  let nConn = 0;
  const pairKey = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);

  const append = (st: State, seg: TcpSegment, from: number) => {
    const bytes = seg.payload.subarray(from);
    if (bytes.length === 0) return;
    st.flow.chunks.push({ offset: st.length, frame: seg.frame, time: seg.time });
    st.parts.push(bytes);
    st.length += bytes.length;
    st.next = (st.next! + bytes.length) >>> 0;
  };
  /** Starts the state of a new flow (one direction of a connection). */
  const open = (key: string, seg: TcpSegment, conn: number, sawSyn: boolean, next: number | undefined): State => {
    const st: State = {
      flow: { conn, src: seg.src, dst: seg.dst, sawSyn, startFrame: seg.frame, data: Buffer.alloc(0), chunks: [], gaps: [] },
      next,
      parts: [],
      length: 0,
      pending: [],
    };
    active.set(key, st);
    states.push(st);
    flows.push(st.flow);
    return st;
  };
  const drain = (st: State) => {
    for (let progress = true; progress; ) {
      progress = false;
      for (let i = 0; i < st.pending.length; i++) {
        const s = st.pending[i];
        const d = seqDiff(st.next!, s.seq);
        if (d >= 0) {
          st.pending.splice(i, 1);
          if (d < s.payload.length) append(st, s, d);
          progress = true;
          break;
        }
      }
    }
  };

  for (const seg of segments) {
    const key = `${seg.src}>${seg.dst}`;
    const pk = pairKey(seg.src, seg.dst);
    let st = active.get(key);
    if (seg.syn) {
      // A SYN without ACK opens a new connection; the SYN-ACK joins the connection of its SYN.
      let conn = connOf.get(pk);
      const isSynAck = seg.ackFlag && st === undefined && conn !== undefined;
      if (!isSynAck) {
        if (st && st.length === 0 && st.next === ((seg.seq + 1) >>> 0)) continue; // SYN retransmit
        conn = nConn++;
        connOf.set(pk, conn);
        active.delete(`${seg.dst}>${seg.src}`);
      }
      open(key, seg, conn!, true, (seg.seq + 1) >>> 0);
      continue;
    }
    if (!st) {
      // Connection already open when the capture started.
      let conn = connOf.get(pk);
      if (conn === undefined) {
        conn = nConn++;
        connOf.set(pk, conn);
      }
      st = open(key, seg, conn, false, undefined);
    }
    if (seg.payload.length === 0) continue;
    if (st.next === undefined) st.next = seg.seq;
    const d = seqDiff(st.next, seg.seq);
    if (d >= 0) {
      if (d < seg.payload.length) append(st, seg, d);
      drain(st);
    } else {
      st.pending.push(seg);
    }
  }
  // Whatever is still pending sits behind a hole: record the hole, then continue after it.
  for (const st of states) {
    finishPending(st);
    st.flow.data = Buffer.concat(st.parts);
  }
  return flows;

  function finishPending(st: State) {
    while (st.pending.length > 0) {
      st.pending.sort((a, b) => seqDiff(a.seq, b.seq));
      const first = st.pending[0];
      const hole = seqDiff(first.seq, st.next!);
      if (hole > 0) {
        st.flow.gaps.push({ offset: st.length, length: hole });
        st.next = first.seq;
      }
      drain(st);
    }
  }
}

/** Convenience: file → reassembled flows. */
export function readTcpFlows(path: string): TcpFlow[] {
  const flows = reassemble(tcpSegments(parsePcap(readFileSync(path))));
  return flows;
}
