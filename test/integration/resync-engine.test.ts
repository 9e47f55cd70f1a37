// Resync at the engine level, without the daemon: two 64 MiB Devices joined by two PeerLinks
// on loopback. The test plays the control plane: it sets bits, exchanges bitmaps in the order
// of spec/wire-protocol-84.md §9 (source first, target merges and answers), starts the resync
// on both sides and ticks the SyncTarget with a fixed budget, as the lead's controller does.
import { randomBytes, randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device } from '../../src/engine/device.js';
import { PeerLink, type LinkEvent } from '../../src/engine/peer-link.js';
import { internalLayout, sha256File, sparseFile } from './nbd-helpers.js';
import { NBD, RawNbdClient } from '../../src/engine/nbd-client.js';
import { linkSettings } from '../support/link.js';

const SIZE = 64 << 20;
const BLOCK = 4096;
const MAX_BIO = 1 << 20;
const P_BITMAP = 0x04;
const P_COMPRESSED_BITMAP = 0x24;

interface Node {
  name: string;
  device: Device;
  link: PeerLink;
  events: LinkEvent[];
  backing: string;
  socket: string;
  usable: number;
  bits: number;
}


async function makeNode(dir: string, name: string, fill: boolean): Promise<Node> {
  const backing = join(dir, `${name}.img`);
  sparseFile(backing, SIZE);
  const l = internalLayout(SIZE);
  if (fill) {
    // Random content over the whole data area: a full sync has something to move.
    const fd = openSync(backing, 'r+');
    const chunk = Buffer.alloc(4 << 20);
    for (let off = 0; off < l.usableSizeBytes; off += chunk.length) {
      randomFillSync(chunk);
      writeSync(fd, chunk, 0, Math.min(chunk.length, l.usableSizeBytes - off), off);
    }
    closeSync(fd);
  }
  const socket = join(dir, `${name}.sock`);
  const device = await Device.create({
    backingPath: backing,
    usableSizeBytes: l.usableSizeBytes,
    bitmapOffsetBytes: l.bitmapOffsetBytes,
    bitmapBits: l.bitmapBits,
    nbdSocketPath: socket,
  });
  const node: Node = { name, device, link: undefined as unknown as PeerLink, events: [], backing, socket, usable: l.usableSizeBytes, bits: l.bitmapBits };
  node.link = new PeerLink(device, (evs) => {
    for (const e of evs) {
      node.events.push(e);
      if (e.type === 'control' && !e.meta) node.link.resumeReceive();
    }
  });
  return node;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, f: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const count = (n: Node, type: LinkEvent['type']) => n.events.filter((e) => e.type === type).length;
const last = <T extends LinkEvent['type']>(n: Node, type: T) =>
  n.events.filter((e) => e.type === type).at(-1) as Extract<LinkEvent, { type: T }> | undefined;

/** The set bits of a device's bitmap. */
function setBits(n: Node): number[] {
  const out: number[] = [];
  for (let b = n.device.bitmap.findNextSet(0); b >= 0; b = n.device.bitmap.findNextSet(b + 1)) out.push(b);
  return out;
}

function readBlock(path: string, bit: number): Buffer {
  const fd = openSync(path, 'r');
  const b = Buffer.alloc(BLOCK);
  readSync(fd, b, 0, BLOCK, bit * BLOCK);
  closeSync(fd);
  return b;
}

describe('resync between two devices on loopback', () => {
  const dir = mkdtempSync(join(tmpdir(), 'udrbd-resync-'));
  let a: Node; // SyncSource: holds the good data
  let b: Node; // SyncTarget
  const port = 18100 + (process.pid % 200);

  const connectedTimes = (n: Node) => count(n, 'connected');
  async function bothConnected(): Promise<void> {
    await until('both connected', () => a.link.counters().connected && b.link.counters().connected);
  }

  /** §9: the source sends first; the target merges, then answers with its merged bitmap. */
  async function exchangeBitmaps(useRle: boolean): Promise<void> {
    const aSeen = count(a, 'bitmapReceived');
    const bSeen = count(b, 'bitmapReceived');
    expect(a.link.sendBitmap(useRle)).toBe(true);
    await until('target got the bitmap', () => count(b, 'bitmapReceived') > bSeen);
    expect(b.link.sendBitmap(useRle)).toBe(true);
    await until('source got the bitmap', () => count(a, 'bitmapReceived') > aSeen);
  }

  /** Starts both sides and ticks the target with a fixed budget until resyncDone. */
  async function resync(budget: number, stopWhen?: () => boolean, csumsAlg?: string, maxBioSize = MAX_BIO): Promise<boolean> {
    const done = count(b, 'resyncDone');
    a.link.startResync('source', { maxBioSize, csumsAlg });
    b.link.startResync('target', { maxBioSize, csumsAlg });
    const end = Date.now() + 60_000;
    while (count(b, 'resyncDone') === done) {
      if (stopWhen?.()) return false;
      if (Date.now() > end) throw new Error(`resync did not finish: ${JSON.stringify(b.link.resyncStatus())}`);
      b.link.resyncTick(budget);
      await sleep(5);
    }
    b.link.stopResync();
    // The target is done once its writes are acknowledged; the acks clear the source's bits.
    await until('source bitmap clear', () => a.device.bitmap.countSet() === 0);
    a.link.stopResync();
    return true;
  }

  /** Writes random data to the given blocks on A only (not replicated, marked out of sync). */
  async function writeOnSourceOnly(blocks: number[]): Promise<void> {
    a.link.setReplicating(false);
    a.device.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: true });
    const c = await RawNbdClient.open(a.socket);
    try {
      for (const blk of blocks) {
        const r = await c.request(NBD.CMD_WRITE, blk * BLOCK, BLOCK, 0, randomBytes(BLOCK));
        expect(r.error).toBe(0);
      }
    } finally {
      c.destroy();
    }
    a.device.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: false });
    a.link.setReplicating(true);
  }

  function randomBlocks(n: number, total: number): number[] {
    const s = new Set<number>();
    while (s.size < n) s.add(Math.floor(Math.random() * total));
    return [...s].sort((x, y) => x - y);
  }

  async function expectIdentical(): Promise<void> {
    expect(await sha256File(b.backing, b.usable)).toBe(await sha256File(a.backing, a.usable));
  }

  beforeAll(async () => {
    a = await makeNode(dir, 'a', true);
    b = await makeNode(dir, 'b', false);
    a.device.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: false });
    b.device.setPolicy({ primary: false, writable: false, diskUsable: true, markOutOfSync: false });
    a.link.start(linkSettings('127.0.0.1', '127.0.0.2', port));
    b.link.start(linkSettings('127.0.0.2', '127.0.0.1', port));
    await bothConnected();
    a.link.setReplicating(true);
    b.link.setReplicating(true);
  }, 60_000);

  afterAll(async () => {
    for (const n of [a, b]) {
      n?.link.stop();
      await n?.device.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('full sync: every bit set on both, the target pulls everything and both bitmaps end at 0', async () => {
    a.device.bitmap.setAll();
    b.device.bitmap.setAll();
    const ns0 = a.link.counters().nsBytes;
    const nr0 = b.link.counters().nrBytes;
    const dw0 = b.device.counters().dw;
    const dr0 = a.device.counters().dr;
    await resync(256);
    await expectIdentical();
    expect(b.device.bitmap.countSet()).toBe(0);
    expect(a.device.bitmap.countSet()).toBe(0);
    const last = b.link.resyncStatus();
    expect(last.failedBits).toBe(0);
    expect(last.rsInFlight).toBe(0);
    expect(last.bitsLeft).toBe(0);
    expect(last.position).toBe(b.bits);
    expect(a.link.counters().nsBytes - ns0).toBe(a.usable);
    expect(b.link.counters().nrBytes - nr0).toBe(b.usable);
    // Disk counters (KiB): the target wrote, the source read the whole device.
    expect(b.device.counters().dw - dw0).toBe(b.usable / 1024);
    expect(a.device.counters().dr - dr0).toBe(a.usable / 1024);
    expect(a.link.counters().pe).toBe(0);
    expect(b.link.counters().pe).toBe(0);
    expect(b.link.counters().ua).toBe(0);
  }, 120_000);

  it('bitmap-based: only the blocks written on the source while not replicating move', async () => {
    const blocks = randomBlocks(Math.ceil(a.bits / 100), a.bits);
    await writeOnSourceOnly(blocks);
    expect(a.device.bitmap.countSet()).toBe(blocks.length);
    expect(b.device.bitmap.countSet()).toBe(0);
    await exchangeBitmaps(true);
    expect(last(b, 'bitmapReceived')?.bitsSet).toBe(blocks.length);
    expect(setBits(b)).toEqual(blocks);
    expect(last(a, 'bitmapReceived')?.bitsSet).toBe(blocks.length);
    const ns0 = a.link.counters().nsBytes;
    const nr0 = b.link.counters().nrBytes;
    await resync(64);
    await expectIdentical();
    const moved = b.link.counters().nrBytes - nr0;
    expect(moved).toBeGreaterThanOrEqual(blocks.length * BLOCK);
    expect(moved).toBeLessThanOrEqual(1.05 * blocks.length * BLOCK);
    expect(a.link.counters().nsBytes - ns0).toBe(moved);
    expect(b.device.bitmap.countSet()).toBe(0);
  }, 120_000);

  it('an interrupted resync keeps what is left; a second exchange and resync finishes it', async () => {
    const blocks = randomBlocks(Math.ceil(a.bits / 5), a.bits);
    await writeOnSourceOnly(blocks);
    await exchangeBitmaps(true);
    const total = b.device.bitmap.countSet();
    expect(total).toBe(blocks.length);
    const nr0 = b.link.counters().nrBytes;
    const lost = count(b, 'lost');
    const conns = connectedTimes(b);
    // Cut the link half way with requests in flight.
    const finished = await resync(16, () => b.device.bitmap.countSet() <= total / 2);
    expect(finished).toBe(false);
    b.link.resyncTick(512);
    b.link.dropConnection('NetworkFailure');
    await until('both saw the loss', () => count(b, 'lost') > lost && count(a, 'lost') > 0);
    b.link.stopResync();
    a.link.stopResync();
    const st = b.link.resyncStatus();
    expect(st.rsInFlight).toBe(0);
    expect(b.link.counters().pe).toBe(0);
    const left = b.device.bitmap.countSet();
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(total);
    // Every block whose bit was cleared on the target holds the source's data.
    const cleared = new Set(setBits(b));
    for (const blk of blocks.filter((x) => !cleared.has(x)).slice(0, 200)) {
      expect(readBlock(b.backing, blk).equals(readBlock(a.backing, blk))).toBe(true);
    }
    await until('reconnected', () => connectedTimes(b) > conns);
    await bothConnected();
    await exchangeBitmaps(false);
    expect(b.device.bitmap.countSet()).toBeGreaterThanOrEqual(left);
    await resync(64);
    await expectIdentical();
    // Bitmap-based continuation: less than the whole set moved again.
    expect(b.link.counters().nrBytes - nr0).toBeLessThan(1.5 * total * BLOCK);
  }, 120_000);

  it('csums-alg: with every bit set, only blocks whose digests differ travel', async () => {
    const blocks = randomBlocks(Math.ceil(a.bits / 100), a.bits);
    await writeOnSourceOnly(blocks);
    a.device.bitmap.setAll();
    b.device.bitmap.setAll();
    const nr0 = b.link.counters().nrBytes;
    const ns0 = a.link.counters().nsBytes;
    // One block per request (max_bio_size 4 KiB), so exactly the differing blocks travel;
    // with bigger requests a digest covers the whole request.
    await resync(1024, undefined, 'md5', BLOCK);
    await expectIdentical();
    expect(b.device.bitmap.countSet()).toBe(0);
    const moved = b.link.counters().nrBytes - nr0;
    expect(moved).toBe(blocks.length * BLOCK);
    expect(a.link.counters().nsBytes - ns0).toBe(moved);
    expect(last(b, 'resyncDone')?.failedBits).toBe(0);
  }, 120_000);

  it('plain and RLE bitmap transfers carry the same bits', async () => {
    const pattern: Array<[number, number]> = [
      [0, 1],
      [5, 200],
      [4095, 4097],
      [a.bits - 3, a.bits],
    ];
    for (const useRle of [false, true]) {
      a.device.bitmap.clearAll();
      b.device.bitmap.clearAll();
      for (const [from, to] of pattern) a.device.bitmap.setRange(from * BLOCK, (to - from) * BLOCK);
      // A bit only the target has survives the merge (OR) and comes back to the source.
      b.device.bitmap.setRange(1000 * BLOCK, BLOCK);
      const want = [...setBits(a), 1000].sort((x, y) => x - y);
      const logs = a.events.length;
      await exchangeBitmaps(useRle);
      const sent = a.events.slice(logs).find((e) => e.type === 'log' && e.msg.startsWith('send bitmap'));
      const m = /plain (\d+)\((\d+)\), RLE (\d+)\((\d+)\)/.exec(sent?.type === 'log' ? sent.msg : '');
      expect(m).not.toBeNull();
      if (useRle) {
        // A sparse bitmap compresses into one packet, no terminator.
        expect([Number(m?.[2]), Number(m?.[4])]).toEqual([0, 1]);
      } else {
        // 16368 bits = 2048 bytes: one chunk and the empty terminator.
        expect([Number(m?.[1]), Number(m?.[2]), Number(m?.[4])]).toEqual([Math.ceil(a.bits / 64) * 8, 2, 0]);
      }
      expect(setBits(b)).toEqual(want);
      expect(setBits(a)).toEqual(want);
      expect(last(b, 'bitmapReceived')?.bitsSet).toBe(want.length);
    }
    a.device.bitmap.clearAll();
    b.device.bitmap.clearAll();
  }, 60_000);

  it('a hostile bitmap packet drops the connection (ProtocolError) and nothing crashes', async () => {
    const hostile: Array<[number, Buffer]> = [
      // A run past the end of the bitmap: one run of 2^21 set bits (level 8497..2105648).
      [P_COMPRESSED_BITMAP, Buffer.from([0x82, 0x7f, 0xff, 0xff, 0xff])],
      // Unknown encoding.
      [P_COMPRESSED_BITMAP, Buffer.from([0x05, 0x00])],
      // A plain chunk of the wrong size.
      [P_BITMAP, Buffer.alloc(16)],
    ];
    for (const [cmd, payload] of hostile) {
      await bothConnected();
      const lostB = count(b, 'lost');
      const conns = connectedTimes(b);
      const bits = b.device.bitmap.countSet();
      expect(a.link.sendControl(cmd, payload, false)).toBe(true);
      await until('target dropped the connection', () => count(b, 'lost') > lostB);
      expect(last(b, 'lost')?.reason).toBe('ProtocolError');
      // Nothing was merged from a broken transfer.
      expect(b.device.bitmap.countSet()).toBe(bits);
      await until('reconnected', () => connectedTimes(b) > conns);
    }
    await bothConnected();
  }, 60_000);

  it('reads of out-of-sync blocks on the target come from the peer during the resync', async () => {
    const blocks = randomBlocks(64, a.bits);
    await writeOnSourceOnly(blocks);
    await exchangeBitmaps(true);
    b.device.setPolicy({ primary: false, writable: false, diskUsable: true, markOutOfSync: false, readFromPeerIfOutOfSync: true });
    a.link.startResync('source', { maxBioSize: MAX_BIO });
    b.link.startResync('target', { maxBioSize: MAX_BIO });
    // No tick yet: the blocks are still out of sync on the target and stale on its disk.
    const c = await RawNbdClient.open(b.socket);
    try {
      const nr0 = b.link.counters().nrBytes;
      for (const blk of blocks.slice(0, 16)) {
        expect(readBlock(b.backing, blk).equals(readBlock(a.backing, blk))).toBe(false);
        // A read spanning the block and its neighbours: any out-of-sync block sends it all to the peer.
        const from = Math.max(0, blk - 1);
        const r = await c.request(NBD.CMD_READ, from * BLOCK, 3 * BLOCK);
        expect(r.error).toBe(0);
        const fd = openSync(a.backing, 'r');
        const want = Buffer.alloc(3 * BLOCK);
        readSync(fd, want, 0, want.length, from * BLOCK);
        closeSync(fd);
        expect(r.data?.equals(want)).toBe(true);
      }
      expect(b.link.counters().nrBytes - nr0).toBe(16 * 3 * BLOCK);
      expect(b.device.bitmap.countSet()).toBe(blocks.length);
      // An in-sync block is read locally.
      const inSync = (blocks[0] + 7) % a.bits;
      if (!blocks.includes(inSync)) {
        const nr1 = b.link.counters().nrBytes;
        const r = await c.request(NBD.CMD_READ, inSync * BLOCK, BLOCK);
        expect(r.data?.equals(readBlock(b.backing, inSync))).toBe(true);
        expect(b.link.counters().nrBytes).toBe(nr1);
      }
      // A replicated write during the resync (DP_MAY_SET_IN_SYNC) makes its block in sync
      // on both sides: the target answers P_RS_WRITE_ACK.
      const wc = await RawNbdClient.open(a.socket);
      try {
        const blk = blocks[1];
        const r = await wc.request(NBD.CMD_WRITE, blk * BLOCK, BLOCK, 0, randomBytes(BLOCK));
        expect(r.error).toBe(0);
        expect(a.device.bitmap.test(blk)).toBe(false);
        await until('target cleared the written block', () => !b.device.bitmap.test(blk));
        expect(readBlock(b.backing, blk).equals(readBlock(a.backing, blk))).toBe(true);
      } finally {
        wc.destroy();
      }
      // Now let the resync finish, reads still going on.
      const done = count(b, 'resyncDone');
      while (count(b, 'resyncDone') === done) {
        b.link.resyncTick(4);
        const blk = blocks[Math.floor(Math.random() * blocks.length)];
        const r = await c.request(NBD.CMD_READ, blk * BLOCK, BLOCK);
        expect(r.data?.equals(readBlock(a.backing, blk))).toBe(true);
      }
    } finally {
      c.destroy();
    }
    b.link.stopResync();
    await until('source bitmap clear', () => a.device.bitmap.countSet() === 0);
    a.link.stopResync();
    expect(last(b, 'resyncDone')?.failedBits).toBe(0);
    await expectIdentical();
  }, 120_000);
});
