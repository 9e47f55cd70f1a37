// Misbehaving NBD clients: each must at worst lose its own connection, never crash the
// server or hold up other clients.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device, type DeviceEvent } from '../../src/engine/device.js';
import { internalLayout, requireTool, run, sparseFile } from './nbd-helpers.js';
import { NBD, optionHeader, RawNbdClient } from '../../src/engine/nbd-client.js';

const MiB = 1024 * 1024;

function requestHeader(cmd: number, len: number, offset = 0, magic: number = NBD.REQUEST_MAGIC): Buffer {
  const h = Buffer.alloc(28);
  h.writeUInt32BE(magic, 0);
  h.writeUInt16BE(cmd, 6);
  h.writeBigUInt64BE(42n, 8);
  h.writeBigUInt64BE(BigInt(offset), 16);
  h.writeUInt32BE(len, 24);
  return h;
}

describe('NBD frontend against hostile clients', () => {
  const dir = mkdtempSync(join(tmpdir(), 'udrbd-nbd-hostile-'));
  const backing = join(dir, 'disk.img');
  const sock = join(dir, 'drbd0.sock');
  const uri = `nbd+unix:///?socket=${sock}`;
  const layout = internalLayout(64 * MiB);
  const events: DeviceEvent[] = [];
  let dev: Device;
  // A well-behaved client connected through all of it.
  let good: RawNbdClient;
  let round = 0;

  async function goodClientStillWorks(): Promise<void> {
    round++;
    const data = Buffer.alloc(4096, round);
    expect((await good.request(NBD.CMD_WRITE, 4096 * round, 4096, 0, data)).error).toBe(0);
    const r = await good.request(NBD.CMD_READ, 4096 * round, 4096);
    expect(r.data!.equals(data)).toBe(true);
    // And new clients are still accepted.
    const { stdout } = await run('nbdinfo', ['--size', uri]);
    expect(Number(stdout.trim())).toBe(layout.usableSizeBytes);
  }

  beforeAll(async () => {
    requireTool('nbdinfo', 'libnbd-bin');
    sparseFile(backing, 64 * MiB);
    dev = await Device.create({ backingPath: backing, ...layout, nbdSocketPath: sock, onEvents: (e) => events.push(...e) });
    dev.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: false });
    good = await RawNbdClient.open(sock);
  });

  afterAll(async () => {
    good?.destroy();
    await dev?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('drops a client that sends garbage after the handshake', async () => {
    const c = await RawNbdClient.open(sock);
    c.write(Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n'.repeat(4)));
    expect(await c.closedByServer()).toBe(true);
    await goodClientStillWorks();
    expect(events.some((e) => e.type === 'nbdError' && e.message === 'bad request magic')).toBe(true);
  });

  it('drops a client whose request has a bad magic', async () => {
    const c = await RawNbdClient.open(sock);
    c.write(requestHeader(NBD.CMD_READ, 4096, 0, 0x12345678));
    expect(await c.closedByServer()).toBe(true);
    await goodClientStillWorks();
  });

  it('drops a client announcing a write payload over 32 MiB, answers an oversize read with EINVAL', async () => {
    const c = await RawNbdClient.open(sock);
    expect((await c.request(NBD.CMD_READ, 0, 0xffffffff)).error).toBe(NBD.EINVAL);
    c.write(requestHeader(NBD.CMD_WRITE, 0xffffffff));
    c.write(Buffer.alloc(65536, 1));
    expect(await c.closedByServer()).toBe(true);
    await goodClientStillWorks();
    expect(events.some((e) => e.type === 'nbdError' && /exceeds the 32 MiB limit/.test(e.message ?? ''))).toBe(true);
  });

  it('survives a truncated write payload followed by a disconnect', async () => {
    const c = await RawNbdClient.open(sock);
    c.write(requestHeader(NBD.CMD_WRITE, 1 * MiB));
    c.write(Buffer.alloc(1000, 9));
    await new Promise((r) => setTimeout(r, 100));
    c.destroy();
    await goodClientStillWorks();
  });

  it('is not held up by a client stalled in the middle of a write payload', async () => {
    const stalled = await RawNbdClient.open(sock);
    stalled.write(requestHeader(NBD.CMD_WRITE, 8 * MiB));
    stalled.write(Buffer.alloc(4096, 3));
    await goodClientStillWorks();
    await goodClientStillWorks();
    stalled.destroy();
  });

  it('survives disconnects in the middle of a request header and during the handshake', async () => {
    const a = await RawNbdClient.open(sock);
    a.write(requestHeader(NBD.CMD_READ, 4096).subarray(0, 13));
    await new Promise((r) => setTimeout(r, 50));
    a.destroy();
    const b = await RawNbdClient.connect(sock);
    await b.read(18);
    b.write(Buffer.from([0, 0]));
    b.destroy();
    const c = await RawNbdClient.connect(sock);
    c.destroy();
    await goodClientStillWorks();
  });

  it('closes on a bad option magic, unknown client flags or an absurd option length', async () => {
    const cases: Buffer[] = [
      Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('NOTOPTS!'), Buffer.alloc(8)]),
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
      Buffer.concat([Buffer.from([0, 0, 0, 3]), optionHeader(7, 0x7fffffff)]),
    ];
    for (const bytes of cases) {
      const c = await RawNbdClient.connect(sock);
      expect((await c.read(18))!.subarray(0, 8).toString('latin1')).toBe('NBDMAGIC');
      c.write(bytes);
      expect(await c.closedByServer()).toBe(true);
    }
    await goodClientStillWorks();
  });

  it('answers unsupported and malformed options with errors and goes on haggling', async () => {
    const c = await RawNbdClient.connect(sock);
    await c.read(18);
    c.write(Buffer.from([0, 0, 0, 3]));
    const optReply = async (): Promise<{ type: number; data: Buffer }> => {
      const h = (await c.read(20))!;
      expect(h.readBigUInt64BE(0)).toBe(0x3e889045565a9n);
      const len = h.readUInt32BE(16);
      return { type: h.readUInt32BE(12), data: len ? (await c.read(len))! : Buffer.alloc(0) };
    };
    c.write(optionHeader(8, 0)); // NBD_OPT_STRUCTURED_REPLY: not offered
    expect((await optReply()).type).toBe(0x80000001);
    c.write(Buffer.concat([optionHeader(7, 3), Buffer.from([1, 2, 3])])); // GO, too short
    expect((await optReply()).type).toBe(0x80000003);
    c.write(Buffer.concat([optionHeader(6, 8), Buffer.from([0, 0, 0, 2]), Buffer.from('xx'), Buffer.from([0, 0])])); // INFO "xx"
    expect((await optReply()).type).toBe(0x80000006);
    c.write(optionHeader(3, 0)); // LIST
    const server = await optReply();
    expect(server.type).toBe(2);
    expect((await optReply()).type).toBe(1);
    c.write(optionHeader(2, 0)); // ABORT
    expect((await optReply()).type).toBe(1);
    expect(await c.closedByServer()).toBe(true);
  });

  it('is not held up by a client that never reads its replies, and still closes cleanly', async () => {
    const sock2 = join(dir, 'deaf.sock');
    const other = await Device.create({ backingPath: backing, ...layout, nbdSocketPath: sock2 });
    const deaf = await RawNbdClient.open(sock2);
    deaf.sock.pause(); // stop reading: replies pile up until the server's sends block
    for (let i = 0; i < 200; i++) deaf.send(NBD.CMD_READ, BigInt(i), (i % 32) * MiB, MiB);
    await new Promise((r) => setTimeout(r, 300));
    const c = await RawNbdClient.open(sock2);
    expect((await c.request(NBD.CMD_READ, 0, 4096)).error).toBe(0);
    c.destroy();
    await goodClientStillWorks();
    const t0 = Date.now();
    await other.close();
    expect(Date.now() - t0).toBeLessThan(5000);
    deaf.destroy();
  });

  it('refuses connections beyond the client limit and serves again once they leave', async () => {
    const limited = join(dir, 'limited.sock');
    const lim = await Device.create({ backingPath: backing, ...layout, nbdSocketPath: limited, tuning: { maxClients: 3 } });
    try {
      const held = [await RawNbdClient.open(limited), await RawNbdClient.open(limited), await RawNbdClient.connect(limited)];
      const refused = await RawNbdClient.connect(limited);
      expect(await refused.closedByServer()).toBe(true);
      expect(lim.clients()).toBe(3);
      for (const c of held) c.destroy();
      await new Promise((r) => setTimeout(r, 200));
      const again = await RawNbdClient.open(limited);
      expect((await again.request(NBD.CMD_READ, 0, 4096)).error).toBe(0);
      again.destroy();
    } finally {
      await lim.close();
    }
    await goodClientStillWorks();
  });

  it('finished with no request left in flight and the good client still connected', async () => {
    await goodClientStillWorks();
    const c = dev.counters();
    expect(c.ap).toBe(0);
    expect(c.lo).toBe(0);
    expect(dev.clients()).toBe(1);
  });
});
