// Hostile input: random, truncated and oversized payloads through every decoder. Each call must
// either decode or throw a typed error (code ERR_WIRE_* / ERR_PROTOCOL_*); never crash the
// process or throw anything else. Bounded in time.
import { describe, expect, it } from 'vitest';
import { native } from '../../../src/engine/native.js';
import { COMMANDS, ProtocolError, decodeControl, decodeStateChange, isControlCommand } from '../../../src/protocol/index.js';
import { CAPTURES, loadCapture } from '../../support/captures.js';

const wire = native().wire;
const BUDGET_MS = 3000;

let seed = 12345;
const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rnd(256)));

function expectTyped(f: () => unknown, what: string): void {
  try {
    f();
  } catch (e) {
    const err = e as { code?: string };
    const ok = e instanceof ProtocolError || (e instanceof Error && /^ERR_WIRE_/.test(err.code ?? ''));
    if (!ok) throw new Error(`${what}: untyped error ${String(e)}`);
  }
}

function decodeAny(cmd: number, payload: Buffer, digest?: number) {
  if (isControlCommand(cmd)) return decodeControl(cmd, payload);
  return wire.decodePacket(cmd, payload, digest);
}

describe('hostile input', () => {
  it('random payloads of random sizes for every command', () => {
    const cmds = [...COMMANDS.map((c) => c.cmd), 0x25, 0x26, 0x35, 0x100, 0xffff];
    const end = Date.now() + BUDGET_MS;
    let n = 0;
    while (Date.now() < end) {
      const cmd = cmds[rnd(cmds.length)];
      const len = [0, 1, 4, 7, 8, 16, 23, 24, 25, 28, 40, 48, 56, 72, 148, 4080, 4096][rnd(17)] + rnd(3);
      const digest = [undefined, 0, 4, 16, 64, -1][rnd(6)];
      expectTyped(() => decodeAny(cmd, bytes(len), digest), `cmd 0x${cmd.toString(16)} len ${len}`);
      expectTyped(() => wire.decodeHeader([80, 96, 101][rnd(3)], bytes(rnd(2) ? 8 : 16)), 'header');
      expectTyped(() => decodeStateChange({ mask: rnd(2 ** 32), val: rnd(2 ** 32) }), 'state change');
      n++;
    }
    expect(n).toBeGreaterThan(1000);
  });

  it('random bitmap transfers', () => {
    const end = Date.now() + BUDGET_MS;
    let n = 0;
    while (Date.now() < end) {
      const packets = Array.from({ length: 1 + rnd(3) }, () =>
        rnd(2) ? { command: 0x24, payload: Buffer.concat([Buffer.from([rnd(256)]), bytes(rnd(64))]) } : { command: 0x04, payload: bytes(rnd(3) * 8) },
      );
      expectTyped(() => wire.decodeBitmapPackets(packets, 1 + rnd(100000)), 'bitmap');
      n++;
    }
    expect(n).toBeGreaterThan(1000);
  });

  it('every captured packet truncated, extended and bit-flipped', () => {
    for (const name of CAPTURES) {
      for (const f of loadCapture(name).frames.slice(0, 60)) {
        const p = f.payload;
        expectTyped(() => decodeAny(f.command, p.subarray(0, rnd(p.length + 1))), `${name} truncated`);
        expectTyped(() => decodeAny(f.command, Buffer.concat([p, bytes(1 + rnd(8))])), `${name} extended`);
        const flipped = Buffer.from(p);
        if (flipped.length) flipped[rnd(flipped.length)] ^= 1 << rnd(8);
        expectTyped(() => decodeAny(f.command, flipped), `${name} flipped`);
        const h = Buffer.from(f.header);
        h[rnd(h.length)] ^= 1 << rnd(8);
        expectTyped(() => wire.decodeHeader(f.kind === 'h80' ? 80 : 101, h), `${name} header`);
      }
    }
  });

  it('fixed-size native packets reject every wrong length', () => {
    for (const c of COMMANDS) {
      if (c.owner !== 'native' || typeof c.size !== 'number') continue;
      for (const len of [c.size - 1, c.size + 1]) {
        if (len < 0) continue;
        expect(() => wire.decodePacket(c.cmd, Buffer.alloc(len)), `${c.name} ${len}`).toThrow(expect.objectContaining({ code: expect.stringMatching(/^ERR_WIRE_(LENGTH|AUTH)$/) }));
      }
    }
  });

  it('argument type errors are typed too', () => {
    expect(() => wire.decodePacket('x' as never, Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'ERR_WIRE_ARGUMENT' }));
    expect(() => wire.encodePacket(0x16, { sector: -1n } as never)).toThrow(expect.objectContaining({ code: 'ERR_WIRE_ARGUMENT' }));
    expect(() => wire.encodeBitmap(Buffer.alloc(1), 100, true)).toThrow(expect.objectContaining({ code: 'ERR_WIRE_ARGUMENT' }));
  });
});
