// The data plane end to end without the control plane: two Devices, each with its own backing
// file and NBD export, joined by two PeerLinks over loopback. Writes through NBD on the
// Primary must land on the Secondary's backing file (protocol C: acknowledged = written there).
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device } from '../../src/engine/device.js';
import { PeerLink, type LinkEvent } from '../../src/engine/peer-link.js';
import { internalLayout, requireTool, run, sha256File, sparseFile } from './nbd-helpers.js';
import { linkSettings } from '../support/link.js';

const SIZE = 96 << 20;

interface Node {
  name: string;
  device: Device;
  link: PeerLink;
  events: LinkEvent[];
  backing: string;
  socket: string;
}


async function makeNode(dir: string, name: string): Promise<Node> {
  const backing = join(dir, `${name}.img`);
  sparseFile(backing, SIZE);
  const l = internalLayout(SIZE);
  const socket = join(dir, `${name}.sock`);
  const device = await Device.create({
    backingPath: backing,
    usableSizeBytes: l.usableSizeBytes,
    bitmapOffsetBytes: l.bitmapOffsetBytes,
    bitmapBits: l.bitmapBits,
    nbdSocketPath: socket,
  });
  const events: LinkEvent[] = [];
  const node: Node = { name, device, link: undefined as unknown as PeerLink, events, backing, socket };
  node.link = new PeerLink(device, (evs) => {
    for (const e of evs) {
      events.push(e);
      // No control plane here: every control packet is simply consumed.
      if (e.type === 'control' && !e.meta) node.link.resumeReceive();
    }
  });
  return node;
}

async function until(what: string, f: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('peer link between two devices on loopback', () => {
  const dir = mkdtempSync(join(tmpdir(), 'udrbd-link-'));
  let a: Node;
  let b: Node;
  const port = 17700 + (process.pid % 200);

  beforeAll(async () => {
    requireTool('nbdcopy', 'libnbd-bin');
    a = await makeNode(dir, 'a');
    b = await makeNode(dir, 'b');
    a.link.start(linkSettings('127.0.0.1', '127.0.0.2', port));
    b.link.start(linkSettings('127.0.0.2', '127.0.0.1', port));
    await until('both connected', () => [a, b].every((n) => n.events.some((e) => e.type === 'connected')));
  });

  afterAll(async () => {
    for (const n of [a, b]) {
      n?.link.stop();
      await n?.device.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('agrees on protocol 101 and exactly one side breaks ties', () => {
    const conn = (n: Node) => n.events.find((e) => e.type === 'connected') as Extract<LinkEvent, { type: 'connected' }>;
    expect(conn(a).agreedProtocol).toBe(101);
    expect(conn(b).agreedProtocol).toBe(101);
    expect(conn(a).resolveConflicts).not.toBe(conn(b).resolveConflicts);
  });

  it('replicates writes made through NBD on the Primary (protocol C)', async () => {
    a.device.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: false });
    b.device.setPolicy({ primary: false, writable: false, diskUsable: true, markOutOfSync: false });
    a.link.setReplicating(true);
    b.link.setReplicating(true);
    const src = join(dir, 'src.bin');
    const data = Buffer.alloc(64 << 20);
    randomFillSync(data);
    writeFileSync(src, data);
    await run('nbdcopy', [src, `nbd+unix:///?socket=${a.socket}`]);
    // nbdcopy flushes at the end: a FLUSH is a barrier on the peer too, so B has it all now.
    expect(await sha256File(b.backing, data.length)).toBe(await sha256File(src));
    expect(await sha256File(a.backing, data.length)).toBe(await sha256File(src));
    expect(a.device.bitmap.countSet()).toBe(0);
    const ca = a.link.counters();
    const cb = b.link.counters();
    expect(ca.nsBytes).toBe(data.length);
    expect(cb.nrBytes).toBe(data.length);
    expect(ca.pe).toBe(0);
    expect(cb.ua).toBe(0);
  });

  it('a lost peer marks unacknowledged writes out of sync and reports the loss', async () => {
    b.link.stop();
    await until('A sees the loss', () => a.events.some((e) => e.type === 'lost'));
    a.device.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: true });
    const src = join(dir, 'small.bin');
    writeFileSync(src, Buffer.alloc(1 << 20, 7));
    await run('nbdcopy', [src, `nbd+unix:///?socket=${a.socket}`]);
    expect(a.device.bitmap.countSet()).toBe(256);
  });
});
