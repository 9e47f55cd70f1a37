// Golden test: every DRBD packet of every kernel capture is decoded by the codec that owns it
// (src/protocol for control packets, native/wire.* for the rest), re-encoded, and compared byte
// for byte with the capture; the decoded values are compared with tshark's decode (.txt) field by
// field wherever tshark prints the field.
import { describe, expect, it } from 'vitest';
import { native } from '../../../src/engine/native.js';
import { commandByNumber, decodeControl, encodeControl, isControlCommand, encodeStateWord, type ControlPacket } from '../../../src/protocol/index.js';
import { CAPTURES, CAPTURE_DIGESTS, CAPTURE_FEATURES, agreedOf, loadCapture } from '../../support/captures.js';
import { fieldValues, leadingBigInt, type TsharkPacket } from '../../support/tshark-txt.js';
import type { DrbdFrame } from '../../support/drbd-frames.js';
import type { NativeWirePacket } from '../../../src/engine/native.js';

const wire = native().wire;
const BITMAP_CMDS = new Set([0x04, 0x24]);

/** Decoded values keyed by tshark's field names, for the fields tshark prints. */
function valuesForTshark(f: DrbdFrame, ctl: ControlPacket | undefined, n: NativeWirePacket | undefined): Map<string, bigint[]> {
  const m = new Map<string, bigint[]>();
  const put = (k: string, ...v: (bigint | number | boolean)[]) => m.set(k, v.map((x) => BigInt(typeof x === 'boolean' ? Number(x) : x)));
  put('Payload length', f.length);
  if (f.kind === 'h100') put('Volume', f.volume);
  put('Command', f.command);
  if (n) {
    if (n.sector !== undefined) put('Sector', n.sector);
    // tshark prints block_id and barrier as little-endian numbers (README caution).
    if (n.blockId) put('Block ID', n.blockId.readBigUInt64LE(0));
    if (n.seqNum !== undefined) put('Sequence number', n.seqNum);
    if (n.dpFlags !== undefined) put('Data flags', n.dpFlags);
    if (n.data) put('Size', n.data.length);
    else if (n.blksize !== undefined) put('Size', n.blksize);
    if (n.barrier) put('barrier', n.barrier.readUInt32LE(0));
    if (n.setSize !== undefined) put('set_size', n.setSize);
    if (n.protocolMin !== undefined) put('protocol_min', n.protocolMin);
    if (n.protocolMax !== undefined) put('protocol_max', n.protocolMax);
    if (n.featureFlags !== undefined) put('feature_flags', n.featureFlags);
  }
  if (ctl) {
    switch (ctl.type) {
      case 'P_STATE':
        put('state', encodeStateWord(ctl.state));
        break;
      case 'P_STATE_CHG_REQ':
      case 'P_CONN_ST_CHG_REQ':
        put('state', ctl.request.val); // tshark shows only val
        break;
      case 'P_STATE_CHG_REPLY':
      case 'P_CONN_ST_CHG_REPLY':
        put('retcode', ctl.retcode);
        break;
      case 'P_SYNC_UUID':
        put('uuid', ctl.uuid);
        break;
      case 'P_UUIDS': {
        const u = ctl.uuids;
        put('Current UUID', u.current);
        put('Bitmap UUID', u.bitmap);
        put('History UUID', ...u.history);
        put('Dirty bits', u.bitmapWeight);
        put('UUID flags', u.flags);
        break;
      }
      case 'P_SIZES': {
        const s = ctl.sizes;
        put('d_size', s.dSize);
        put('u_size', s.uSize);
        put('c_size', s.cSize);
        put('max_bio_size', s.maxBioSize);
        put('queue_order_type', s.queueOrderType);
        put('dds_flags', s.ddsFlags);
        if (s.qlim) {
          put('physical_block_size', s.qlim.physicalBlockSize);
          put('logical_block_size', s.qlim.logicalBlockSize);
          put('alignment_offset', s.qlim.alignmentOffset);
          put('io_min', s.qlim.ioMin);
          put('io_opt', s.qlim.ioOpt);
          put('discard_enabled', s.qlim.discardEnabled);
          put('discard_zeroes_data', s.qlim.discardZeroesData);
          put('write_same_capable', s.qlim.writeSameCapable);
        }
        break;
      }
      case 'P_SYNC_PARAM89': {
        const p = ctl.params;
        put('resync_rate', p.resyncRate);
        put('c_plan_ahead', p.cPlanAhead);
        put('c_delay_target', p.cDelayTarget);
        put('c_fill_target', p.cFillTarget);
        put('c_max_rate', p.cMaxRate);
        break;
      }
      case 'P_PROTOCOL':
      case 'P_PROTOCOL_UPDATE': {
        const p = ctl.settings;
        put('protocol', p.protocol); // WireProtocol: the wire value
        put('two_primaries', p.twoPrimaries);
        put('conn_flags', (p.discardMyData ? 1 : 0) | (p.dryRun ? 2 : 0));
        break;
      }
    }
  }
  return m;
}

function tsharkNumber(key: string, v: string): bigint {
  if (v === 'True') return 1n;
  if (v === 'False') return 0n;
  // "P_DATA (0x0000)": the number is in the parentheses; "0x00001018 (4120)": the leading one.
  if (key === 'Command') return BigInt(/\((0x[0-9a-f]+)\)/.exec(v)![1]);
  // "C (0x00000003)": a name, then the number in parentheses.
  const inParens = /^[A-Za-z_]+ \((0x[0-9a-fA-F]+|\d+)\)/.exec(v);
  if (inParens) return BigInt(inParens[1]);
  return leadingBigInt(v);
}

function compareWithTshark(f: DrbdFrame, t: TsharkPacket, ours: Map<string, bigint[]>): number {
  let compared = 0;
  for (const [key, values] of ours) {
    const theirs = fieldValues(t, key);
    if (theirs.length === 0) continue; // tshark does not print this field for this packet
    expect(theirs.map((v) => tsharkNumber(key, v)), `${t.command} ${key} (frame ${f.endFrame})`).toEqual(values);
    compared++;
  }
  return compared;
}

describe.each(CAPTURES)('golden capture %s', (name) => {
  const cap = loadCapture(name);

  it('splits into the same packets tshark lists, in the same order', () => {
    expect(cap.frames.length).toBeGreaterThan(0);
    expect(cap.frames.map((f) => wire.commandName(f.command))).toEqual(cap.tshark.map((t) => t.command));
  });

  it('re-encodes every header byte for byte (h80 before the feature exchange, h100 after)', () => {
    for (const f of cap.frames) {
      const agreed = agreedOf(f);
      const h = wire.decodeHeader(agreed, f.header);
      expect(h).toEqual({ command: f.command, volume: f.volume, length: f.length });
      expect(wire.encodeHeader(agreed, h.command, h.length, h.volume).equals(f.header)).toBe(true);
    }
  });

  it('passes the receiver length checks on the socket each packet travelled on', () => {
    // All packets of one TCP connection belong to one socket kind.
    const sockOfConn = new Map<number, string>();
    for (const f of cap.frames) {
      const spec = commandByNumber(f.command);
      expect(spec, `command 0x${f.command.toString(16)}`).toBeDefined();
      if (spec!.sock === 'both') continue;
      const prev = sockOfConn.get(f.conn);
      if (prev) expect(spec!.sock, `${spec!.name} on a ${prev} connection`).toBe(prev);
      sockOfConn.set(f.conn, spec!.sock);
      if (f.kind === 'h80') continue; // initial packets and features: checked by decodePacket
      wire.checkPayloadSize(f.command, f.length, spec!.sock as 'data' | 'meta', CAPTURE_FEATURES, CAPTURE_DIGESTS[spec!.name] ?? 0);
    }
  });

  it('decodes every payload with its owner, re-encodes it byte for byte, and agrees with tshark', () => {
    let compared = 0;
    cap.frames.forEach((f, i) => {
      let ctl: ControlPacket | undefined;
      let n: NativeWirePacket | undefined;
      if (isControlCommand(f.command)) {
        ctl = decodeControl(f.command, f.payload, { agreedFeatures: CAPTURE_FEATURES });
        const back = encodeControl(ctl);
        expect(back.command).toBe(f.command);
        expect(back.payload.toString('hex'), `${ctl.type} frame ${f.endFrame}`).toBe(f.payload.toString('hex'));
      } else {
        const name = wire.commandName(f.command);
        n = wire.decodePacket(f.command, f.payload, CAPTURE_DIGESTS[name]);
        expect(wire.encodePacket(f.command, n).toString('hex'), `${name} frame ${f.endFrame}`).toBe(f.payload.toString('hex'));
      }
      expect(commandByNumber(f.command)!.owner).toBe(ctl ? 'protocol' : 'native');
      if (!BITMAP_CMDS.has(f.command)) compared += compareWithTshark(f, cap.tshark[i], valuesForTshark(f, ctl, n));
    });
    // Every packet contributes at least its length and command.
    expect(compared).toBeGreaterThanOrEqual(cap.frames.filter((f) => !BITMAP_CMDS.has(f.command)).length * 2);
  });
});
