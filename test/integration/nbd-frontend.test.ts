// The NBD frontend with real clients (libnbd's nbdcopy, nbdinfo, nbdsh): data integrity,
// export size and flags, FUA / flush / trim / zeroes, and the read-only policy.
import { mkdtempSync, rmSync, openSync, readSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device, type DeviceEvent } from '../../src/engine/device.js';
import { internalLayout, nbdsh, requireTool, run, sha256File, sparseFile } from './nbd-helpers.js';
import { NBD, RawNbdClient } from '../../src/engine/nbd-client.js';

const MiB = 1024 * 1024;

function readBacking(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

describe('NBD frontend with real clients', () => {
  const dir = mkdtempSync(join(tmpdir(), 'udrbd-nbd-'));
  const backing = join(dir, 'disk.img');
  const sock = join(dir, 'drbd0.sock');
  const uri = `nbd+unix:///?socket=${sock}`;
  const backingSize = 300 * MiB;
  const layout = internalLayout(backingSize);
  const events: DeviceEvent[] = [];
  let dev: Device;

  beforeAll(async () => {
    requireTool('nbdcopy', 'libnbd-bin');
    requireTool('nbdinfo', 'libnbd-bin');
    await nbdsh(['--version']);
    sparseFile(backing, backingSize);
    dev = await Device.create({
      backingPath: backing,
      ...layout,
      nbdSocketPath: sock,
      exportName: 'r0',
      onEvents: (e) => events.push(...e),
    });
    dev.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: false });
  });

  afterAll(async () => {
    await dev?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('also serves over TCP on a loopback address', async () => {
    const tcpBacking = join(dir, 'tcp.img');
    sparseFile(tcpBacking, 64 * MiB);
    const tcpDev = await Device.create({ backingPath: tcpBacking, ...internalLayout(64 * MiB), nbdTcp: { host: '127.0.0.1', port: 0 } });
    try {
      tcpDev.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: false });
      expect(tcpDev.nbdTcpPort).toBeGreaterThan(0);
      const tcpUri = `nbd://127.0.0.1:${tcpDev.nbdTcpPort}/`;
      await nbdsh(['-u', tcpUri, '-c', 'h.pwrite(b"tcp!" * 1024, 4096)\nassert h.pread(4096, 4096) == b"tcp!" * 1024']);
      const { stdout } = await run('nbdinfo', ['--size', tcpUri]);
      expect(Number(stdout.trim())).toBe(internalLayout(64 * MiB).usableSizeBytes);
      expect(readBacking(tcpBacking, 4096, 4).toString()).toBe('tcp!');
    } finally {
      await tcpDev.close();
    }
    await expect(Device.create({ backingPath: tcpBacking, ...internalLayout(64 * MiB), nbdTcp: { host: '10.0.0.1', port: 0 } })).rejects.toThrow(/127\.0\.0\.0\/8/);
  });

  it('exports the usable size with the flags of a writable device', async () => {
    const { stdout } = await run('nbdinfo', ['--json', uri]);
    const info = JSON.parse(stdout);
    const exp = info.exports[0];
    expect(exp['export-size']).toBe(layout.usableSizeBytes);
    expect(exp.is_read_only).toBe(false);
    expect(exp.can_flush).toBe(true);
    expect(exp.can_fua).toBe(true);
    expect(exp.can_trim).toBe(true);
    expect(exp.can_zero).toBe(true);
    expect(exp.can_multi_conn).toBe(true);
    expect(exp.block_size_preferred).toBe(4096);
    expect(exp.block_size_maximum).toBe(32 * MiB);
  });

  it('serves the configured export name and refuses unknown ones', async () => {
    const { stdout } = await run('nbdinfo', ['--size', `nbd+unix:///r0?socket=${sock}`]);
    expect(Number(stdout.trim())).toBe(layout.usableSizeBytes);
    await expect(run('nbdinfo', ['--size', `nbd+unix:///nosuch?socket=${sock}`])).rejects.toThrow();
    const list = await run('nbdinfo', ['--list', '--json', uri]);
    expect(JSON.parse(list.stdout).exports.map((e: { 'export-name': string }) => e['export-name'])).toEqual(['r0']);
  });

  it('round-trips 256 MiB written and read with nbdcopy (sha256, and on the backing file)', async () => {
    const src = join(dir, 'random.bin');
    const back = join(dir, 'back.bin');
    await run('sh', ['-c', `head -c ${256 * MiB} /dev/urandom > ${src}`]);
    const before = dev.counters();
    await run('nbdcopy', [src, uri]);
    const afterWrite = dev.counters();
    expect(afterWrite.dw - before.dw).toBeGreaterThanOrEqual(256 * 1024);
    await run('nbdcopy', [uri, back]);
    expect(dev.counters().dr - afterWrite.dr).toBeGreaterThanOrEqual(256 * 1024);
    const want = await sha256File(src);
    expect(await sha256File(back, 256 * MiB)).toBe(want);
    expect(await sha256File(backing, 256 * MiB)).toBe(want);
    // The part of the export nobody wrote reads back as zeros, and the meta-data area is untouched.
    expect(readBacking(back, 256 * MiB, 1 * MiB).every((b) => b === 0)).toBe(true);
    expect(readBacking(backing, layout.bitmapOffsetBytes, layout.bitmapBytes).every((b) => b === 0)).toBe(true);
    const c = dev.counters();
    expect({ lo: c.lo, ap: c.ap, oos: c.oos, ns: c.ns, nr: c.nr, pe: c.pe, ua: c.ua }).toEqual({
      lo: 0, ap: 0, oos: 0, ns: 0, nr: 0, pe: 0, ua: 0,
    });
    rmSync(src);
    rmSync(back);
  }, 300_000);

  it('honours FUA writes, flush, trim and write-zeroes (nbdsh)', async () => {
    const off = 8 * MiB;
    const script = [
      `h.pwrite(b"\\xab" * 65536, ${off}, nbd.CMD_FLAG_FUA)`,
      'h.flush()',
      `assert h.pread(65536, ${off}) == b"\\xab" * 65536`,
      `h.trim(16384, ${off})`,
      `assert h.pread(16384, ${off}) == bytes(16384)`,
      `assert h.pread(4096, ${off} + 16384) == b"\\xab" * 4096`,
      `h.zero(8192, ${off} + 16384, nbd.CMD_FLAG_NO_HOLE)`,
      `h.zero(8192, ${off} + 24576)`,
      `assert h.pread(32768, ${off}) == bytes(32768)`,
      `assert h.pread(32768, ${off} + 32768) == b"\\xab" * 32768`,
      'h.flush()',
    ].join('\n');
    await nbdsh(['-u', uri, '-c', script]);
    const disk = readBacking(backing, off, 65536);
    expect(disk.subarray(0, 32768).every((b) => b === 0)).toBe(true);
    expect(disk.subarray(32768).every((b) => b === 0xab)).toBe(true);
  });

  it('answers requests pipelined on one connection, matched by handle', async () => {
    const c = await RawNbdClient.open(sock);
    try {
      const n = 64;
      const base = 32 * MiB;
      for (let i = 0; i < n; i++) {
        c.send(NBD.CMD_WRITE, BigInt(1000 + i), base + i * 65536, 65536, 0, Buffer.alloc(65536, i + 1));
      }
      const seen = new Set<bigint>();
      for (let i = 0; i < n; i++) {
        const r = await c.reply();
        expect(r?.error).toBe(0);
        seen.add(r!.handle);
      }
      expect(seen.size).toBe(n);
      for (let i = 0; i < n; i++) c.send(NBD.CMD_READ, BigInt(5000 + i), base + i * 65536, 65536);
      for (let i = 0; i < n; i++) {
        const r = await c.reply();
        const k = Number(r!.handle) - 5000;
        expect(r!.error).toBe(0);
        expect(r!.data!.equals(Buffer.alloc(65536, k + 1))).toBe(true);
      }
    } finally {
      c.destroy();
    }
  });

  it('rejects out-of-range requests with the NBD error codes and stays usable', async () => {
    const c = await RawNbdClient.open(sock);
    try {
      const size = layout.usableSizeBytes;
      expect((await c.request(NBD.CMD_READ, size - 512, 1024)).error).toBe(NBD.EINVAL);
      expect((await c.request(NBD.CMD_WRITE, size, 512, 0, Buffer.alloc(512))).error).toBe(NBD.ENOSPC);
      expect((await c.request(NBD.CMD_TRIM, size - 4096, 8192)).error).toBe(NBD.ENOSPC);
      expect((await c.request(NBD.CMD_READ, 0, 64 * MiB)).error).toBe(NBD.EINVAL);
      expect((await c.request(9, 0, 0)).error).toBe(NBD.EINVAL); // unknown command
      expect((await c.request(NBD.CMD_READ, 0, 0)).error).toBe(NBD.EINVAL);
      const r = await c.request(NBD.CMD_READ, size - 4096, 4096);
      expect(r.error).toBe(0);
      expect(r.data!.length).toBe(4096);
    } finally {
      c.destroy();
    }
  });

  it('is read-only while the policy forbids writes: at handshake, and for clients already connected', async () => {
    const c = await RawNbdClient.open(sock);
    try {
      expect(c.flags & NBD.FLAG_READ_ONLY).toBe(0);
      dev.setPolicy({ primary: false, writable: false, diskUsable: true, markOutOfSync: false });
      const dwBefore = dev.counters().dw;
      expect((await c.request(NBD.CMD_WRITE, 0, 4096, 0, Buffer.alloc(4096, 7))).error).toBe(NBD.EPERM);
      expect((await c.request(NBD.CMD_TRIM, 0, 4096)).error).toBe(NBD.EPERM);
      expect((await c.request(NBD.CMD_WRITE_ZEROES, 0, 4096)).error).toBe(NBD.EPERM);
      expect((await c.request(NBD.CMD_READ, 0, 4096)).error).toBe(0);
      expect((await c.request(NBD.CMD_FLUSH, 0, 0)).error).toBe(0);
      expect(dev.counters().dw).toBe(dwBefore);

      const { stdout } = await run('nbdinfo', ['--json', uri]);
      expect(JSON.parse(stdout).exports[0].is_read_only).toBe(true);
      const ro = await RawNbdClient.open(sock);
      expect(ro.flags & NBD.FLAG_READ_ONLY).toBe(NBD.FLAG_READ_ONLY);
      expect((await ro.request(NBD.CMD_WRITE, 0, 512, 0, Buffer.alloc(512))).error).toBe(NBD.EPERM);
      ro.destroy();
      // libnbd refuses writes on a read-only export before they reach the server.
      await expect(nbdsh(['-u', uri, '-c', 'h.pwrite(b"x" * 512, 0)'])).rejects.toThrow(/read-only|EPERM|not permitted/i);
    } finally {
      c.destroy();
      dev.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: false });
    }
  });

  it('fails I/O with EIO while the local disk is not usable and no peer can serve it', async () => {
    const c = await RawNbdClient.open(sock);
    try {
      dev.setPolicy({ primary: true, writable: true, diskUsable: false, markOutOfSync: true });
      const dwBefore = dev.counters().dw;
      const off = 100 * MiB;
      expect((await c.request(NBD.CMD_READ, off, 4096)).error).toBe(NBD.EIO);
      expect((await c.request(NBD.CMD_WRITE, off, 4096, 0, Buffer.alloc(4096, 1))).error).toBe(NBD.EIO);
      expect(dev.counters().dw).toBe(dwBefore);
      // The write reached no disk at all: its block is out of sync.
      expect(dev.bitmap.test(off / 4096)).toBe(true);
      expect(dev.bitmap.clearRange(off, 4096)).toBe(1);
    } finally {
      c.destroy();
      dev.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: false });
    }
  });

  it('reports client connects and disconnects as batched events', async () => {
    const c = await RawNbdClient.open(sock);
    c.send(NBD.CMD_DISC, 1n, 0, 0);
    expect(await c.closedByServer()).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    const connected = events.filter((e) => e.type === 'clientConnected').map((e) => e.client);
    const gone = events.find((e) => e.type === 'clientDisconnected' && e.message === 'client sent NBD_CMD_DISC');
    expect(gone).toBeDefined();
    expect(connected).toContain(gone!.client);
  });
});
