// Test support: splits reassembled TCP streams of a DRBD 8.4 capture into packets.
//
// Header rule (wire-protocol-84.md §2, §12.1): a connection starts with 8-byte h80 headers and
// switches to 16-byte h100 headers once the P_CONNECTION_FEATURES of both sides have been seen;
// the switch applies to the meta socket of the same pair of hosts too. Streams whose SYN predates
// the capture are taken to be past the feature exchange already (h100). The splitter parses the
// headers itself, deliberately independent of the codec under test, and refuses any header whose
// magic does not fit the expected kind: that checks the rule against the captures.
import { readTcpFlows, type TcpFlow } from './pcap.js';

export const H80_MAGIC = 0x83740267;
export const H100_MAGIC = 0x8620ec20;
export const P_CONNECTION_FEATURES = 0xfffe;

export interface DrbdFrame {
  /** Position in the capture's global packet order (0-based). */
  index: number;
  /** pcap frame (1-based) that carried the first byte of the header. */
  frame: number;
  /** pcap frame that carried the last byte (tshark lists the packet there). */
  endFrame: number;
  time: number;
  conn: number;
  src: string;
  dst: string;
  kind: 'h80' | 'h100';
  command: number;
  volume: number;
  length: number;
  /** header + payload, exactly as on the wire */
  raw: Buffer;
  header: Buffer;
  payload: Buffer;
}

interface FlowState {
  flow: TcpFlow;
  pos: number;
  kind: 'h80' | 'h100';
  sentFeatures: boolean;
}

const hostsOf = (f: TcpFlow) => {
  const a = f.src.split(':')[0];
  const b = f.dst.split(':')[0];
  return a < b ? `${a}|${b}` : `${b}|${a}`;
};

function frameAt(flow: TcpFlow, offset: number): { frame: number; time: number } {
  let best = flow.chunks[0];
  for (const c of flow.chunks) {
    if (c.offset <= offset) best = c;
    else break;
  }
  return { frame: best.frame, time: best.time };
}

export function splitDrbdFrames(flows: TcpFlow[]): DrbdFrame[] {
  for (const f of flows) {
    if (f.gaps.length > 0) throw new Error(`${f.src}>${f.dst}: stream has gaps, cannot split`);
  }
  const states: FlowState[] = flows.map((flow) => ({
    flow,
    pos: 0,
    kind: flow.sawSyn ? 'h80' : 'h100',
    sentFeatures: false,
  }));
  // Replay the capture in frame order so that a header switch on one stream happens before
  // later bytes of the other streams are parsed.
  const events: { st: FlowState; end: number; frame: number }[] = [];
  for (const st of states) {
    st.flow.chunks.forEach((c, i) => {
      const end = i + 1 < st.flow.chunks.length ? st.flow.chunks[i + 1].offset : st.flow.data.length;
      events.push({ st, end, frame: c.frame });
    });
  }
  events.sort((a, b) => a.frame - b.frame);

  const out: DrbdFrame[] = [];
  for (const ev of events) {
    const st = ev.st;
    const data = st.flow.data;
    for (;;) {
      const hlen = st.kind === 'h80' ? 8 : 16;
      if (st.pos + hlen > ev.end) break;
      const h = data.subarray(st.pos, st.pos + hlen);
      const magic = h.readUInt32BE(0);
      let command: number;
      let length: number;
      let volume = 0;
      if (st.kind === 'h80') {
        if (magic !== H80_MAGIC) throw new Error(`${st.flow.src}>${st.flow.dst} @${st.pos}: expected h80, magic 0x${magic.toString(16)}`);
        command = h.readUInt16BE(4);
        length = h.readUInt16BE(6);
      } else {
        if (magic !== H100_MAGIC) throw new Error(`${st.flow.src}>${st.flow.dst} @${st.pos}: expected h100, magic 0x${magic.toString(16)}`);
        volume = h.readUInt16BE(4);
        command = h.readUInt16BE(6);
        length = h.readUInt32BE(8);
      }
      if (st.pos + hlen + length > ev.end) break; // rest of the packet is in a later segment
      const at = frameAt(st.flow, st.pos);
      const last = frameAt(st.flow, st.pos + hlen + length - 1);
      const raw = data.subarray(st.pos, st.pos + hlen + length);
      out.push({
        index: out.length,
        frame: at.frame,
        endFrame: last.frame,
        time: at.time,
        conn: st.flow.conn,
        src: st.flow.src,
        dst: st.flow.dst,
        kind: st.kind,
        command,
        volume,
        length,
        raw,
        header: raw.subarray(0, hlen),
        payload: raw.subarray(hlen),
      });
      st.pos += hlen + length;
      if (command === P_CONNECTION_FEATURES) onFeatures(st, ev.frame);
    }
  }
  for (const st of states) {
    if (st.pos !== st.flow.data.length) {
      throw new Error(`${st.flow.src}>${st.flow.dst}: ${st.flow.data.length - st.pos} trailing bytes are not a whole packet`);
    }
  }
  return out;

  function onFeatures(st: FlowState, frame: number) {
    st.sentFeatures = true;
    const peer = states.find((o) => o.flow.conn === st.flow.conn && o !== st);
    if (!peer?.sentFeatures) return;
    // Both sides announced their features: every open stream between these two hosts that
    // still uses h80 (this data connection and its meta connection) switches to h100.
    const hosts = hostsOf(st.flow);
    for (const o of states) {
      if (o.kind === 'h80' && hostsOf(o.flow) === hosts && o.flow.startFrame <= frame) o.kind = 'h100';
    }
  }
}

/** All DRBD packets of one capture file, in capture order. */
export function readDrbdFrames(path: string): DrbdFrame[] {
  return splitDrbdFrames(readTcpFlows(path));
}
