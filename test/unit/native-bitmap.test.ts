// The native bitmap through the Device binding: rounding rules (spec/resync.md §1), counting,
// searching, dirty-page tracking and the on-disk format (spec/metadata-v08.md §3).
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Device } from '../../src/engine/device.js';
import { internalLayout, sparseFile } from '../integration/nbd-helpers.js';
import { NBD, RawNbdClient } from '../../src/engine/nbd-client.js';

const KiB = 1024;
const MiB = 1024 * KiB;

function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  const b = Buffer.alloc(length);
  readSync(fd, b, 0, length, offset);
  closeSync(fd);
  return b;
}

function writeAt(path: string, offset: number, data: Buffer): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, data, 0, data.length, offset);
  closeSync(fd);
}

describe('native bitmap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'udrbd-bitmap-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;

  // A device of 1 MiB + 512 bytes: 257 bits, the last block partial (512 bytes).
  const usable = MiB + 512;
  const bits = 257;
  const bmOffset = 2 * MiB;

  async function open(file?: string): Promise<{ dev: Device; file: string; sock: string }> {
    const f = file ?? join(dir, `d${++n}.img`);
    if (!file) sparseFile(f, 3 * MiB);
    const sock = join(dir, `s${++n}.sock`);
    const dev = await Device.create({ backingPath: f, usableSizeBytes: usable, bitmapOffsetBytes: bmOffset, bitmapBits: bits, nbdSocketPath: sock });
    return { dev, file: f, sock };
  }

  it('sets rounding outward and clears rounding inward', async () => {
    const { dev } = await open();
    try {
      expect(dev.bitmap.countSet()).toBe(0);
      expect(dev.bitmap.setRange(4095, 2)).toBe(2); // touches blocks 0 and 1
      expect([dev.bitmap.test(0), dev.bitmap.test(1), dev.bitmap.test(2)]).toEqual([true, true, false]);
      expect(dev.bitmap.setRange(4096, 4096)).toBe(0); // already set
      expect(dev.bitmap.setRange(10 * 4096 + 512, 512)).toBe(1); // block 10 only
      expect(dev.bitmap.countSet()).toBe(3);
      expect(dev.counters().oos).toBe(3 * 4);
      // [100, 8292): only block 1 lies entirely inside.
      expect(dev.bitmap.clearRange(100, 8192)).toBe(1);
      expect([dev.bitmap.test(0), dev.bitmap.test(1)]).toEqual([true, false]);
      expect(dev.bitmap.clearRange(10 * 4096 + 512, 512)).toBe(0); // partial block: stays set
      expect(dev.bitmap.clearRange(0, 4095)).toBe(0);
      expect(dev.bitmap.clearRange(0, 4096)).toBe(1);
      expect(dev.bitmap.setRange(0, 0)).toBe(0);
      expect(dev.bitmap.countSet()).toBe(1);
    } finally {
      await dev.close();
    }
  });

  it('clears the last, partial block of the device when a range reaches the end', async () => {
    const { dev } = await open();
    try {
      dev.bitmap.setAll();
      expect(dev.bitmap.countSet()).toBe(bits); // not rounded up to the 64-bit word
      expect(dev.bitmap.test(256)).toBe(true);
      expect(dev.bitmap.test(257)).toBe(false);
      expect(dev.bitmap.clearRange(256 * 4096, 512)).toBe(1);
      expect(dev.bitmap.clearRange(255 * 4096, 4096 + 512)).toBe(1);
      expect(dev.bitmap.countSet()).toBe(bits - 2);
      dev.bitmap.clearAll();
      expect(dev.bitmap.countSet()).toBe(0);
    } finally {
      await dev.close();
    }
  });

  it('finds the next set bit', async () => {
    const { dev } = await open();
    try {
      expect(dev.bitmap.findNextSet(0)).toBe(-1);
      dev.bitmap.setRange(3 * 4096, 1);
      dev.bitmap.setRange(200 * 4096, 1);
      dev.bitmap.setRange(256 * 4096, 1);
      expect(dev.bitmap.findNextSet(0)).toBe(3);
      expect(dev.bitmap.findNextSet(3)).toBe(3);
      expect(dev.bitmap.findNextSet(4)).toBe(200);
      expect(dev.bitmap.findNextSet(201)).toBe(256);
      expect(dev.bitmap.findNextSet(257)).toBe(-1);
      expect(dev.bitmap.findNextSet(100000)).toBe(-1);
    } finally {
      await dev.close();
    }
  });

  it('writes dirty pages only, as little-endian words, and loads them back', async () => {
    const { dev, file } = await open();
    let reopened: Device | undefined;
    try {
      expect(dev.bitmap.dirtyPages()).toBe(0);
      dev.bitmap.setRange(0, 1); // bit 0
      dev.bitmap.setRange(9 * 4096, 1); // bit 9: byte 1, mask 0x02
      dev.bitmap.setRange(64 * 4096, 1); // bit 64: second u64 word
      dev.bitmap.setRange(256 * 4096, 1); // bit 256: the last bit
      expect(dev.bitmap.dirtyPages()).toBe(1);
      expect(await dev.bitmap.flush()).toBe(1);
      expect(dev.bitmap.dirtyPages()).toBe(0);
      expect(await dev.bitmap.flush()).toBe(0);
      const area = readAt(file, bmOffset, 4096);
      expect(area.readBigUInt64LE(0)).toBe((1n << 0n) | (1n << 9n));
      expect(area[1]).toBe(0x02);
      expect(area.readBigUInt64LE(8)).toBe(1n);
      expect(area.readBigUInt64LE(32)).toBe(1n); // bit 256 = word 4, bit 0
      expect(area.subarray(40).every((b) => b === 0)).toBe(true);
      await dev.close();

      // Garbage beyond the device's last bit is ignored on load (kept 0 in memory).
      writeAt(file, bmOffset + 32, Buffer.from([0x01, 0xff, 0xff, 0xff]));
      ({ dev: reopened } = await open(file));
      expect(reopened.bitmap.countSet()).toBe(4);
      expect([0, 9, 64, 256].map((b) => reopened!.bitmap.test(b))).toEqual([true, true, true, true]);
      expect(reopened.counters().oos).toBe(16);
    } finally {
      await dev.close();
      await reopened?.close();
    }
  });

  it('writes only the dirty pages of a multi-page bitmap', async () => {
    // 1 GiB backing with internal meta-data: 262127 bits = 8 KiB of words = 8 pages.
    const file = join(dir, 'big.img');
    sparseFile(file, 1024 * MiB);
    const layout = internalLayout(1024 * MiB);
    expect(layout.bitmapBits).toBe(262127);
    const dev = await Device.create({ backingPath: file, ...layout, nbdSocketPath: join(dir, 'big.sock') });
    try {
      dev.bitmap.setRange(0, 1); // page 0
      dev.bitmap.setRange(32768 * 5 * 4096, 4096); // bit 163840: page 5
      expect(dev.bitmap.dirtyPages()).toBe(2);
      // Mark page 3 on disk so that rewriting it would be visible.
      writeAt(file, layout.bitmapOffsetBytes + 3 * 4096, Buffer.alloc(4096, 0xee));
      expect(await dev.bitmap.flush()).toBe(2);
      expect(readAt(file, layout.bitmapOffsetBytes + 3 * 4096, 4096).every((b) => b === 0xee)).toBe(true);
      expect(readAt(file, layout.bitmapOffsetBytes + 5 * 4096, 8).readBigUInt64LE(0)).toBe(1n);
      dev.bitmap.setAll();
      expect(dev.bitmap.dirtyPages()).toBe(Math.ceil(Math.ceil(262127 / 64) / 512));
      expect(await dev.bitmap.flush()).toBe(8);
      const all = readAt(file, layout.bitmapOffsetBytes, layout.bitmapBytes);
      // 262127 bits: 4095 full words, then 47 bits in the last word, nothing after it.
      expect(all.subarray(0, 4095 * 8).every((b) => b === 0xff)).toBe(true);
      expect(all.readBigUInt64LE(4095 * 8)).toBe((1n << 47n) - 1n);
      expect(all.subarray(4096 * 8).every((b) => b === 0)).toBe(true);
    } finally {
      await dev.close();
    }
  });

  it('marks NBD writes out of sync only while the policy says so, and persists them at close', async () => {
    const { dev, file, sock } = await open();
    const c = await RawNbdClient.open(sock);
    try {
      dev.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: false });
      expect((await c.request(NBD.CMD_WRITE, 0, 8192, 0, Buffer.alloc(8192, 1))).error).toBe(0);
      expect(dev.bitmap.countSet()).toBe(0);
      dev.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: true });
      expect((await c.request(NBD.CMD_WRITE, 4096 * 20 + 100, 5000, 0, Buffer.alloc(5000, 2))).error).toBe(0);
      expect((await c.request(NBD.CMD_TRIM, 4096 * 40, 4096)).error).toBe(0);
      expect((await c.request(NBD.CMD_WRITE_ZEROES, 4096 * 50, 4096 * 2)).error).toBe(0);
      expect((await c.request(NBD.CMD_READ, 4096 * 60, 4096)).error).toBe(0);
      expect([20, 21, 40, 50, 51].every((b) => dev.bitmap.test(b))).toBe(true);
      expect(dev.bitmap.countSet()).toBe(5);
      const counters = dev.counters();
      expect(counters.oos).toBe(20);
      expect(counters.dw).toBe(Math.floor((8192 + 5000 + 4096 + 8192) / 1024));
      expect(counters.dr).toBe(4);
    } finally {
      c.destroy();
      await dev.close();
    }
    const area = readAt(file, bmOffset, 8);
    expect(area.readBigUInt64LE(0)).toBe((1n << 20n) | (1n << 21n) | (1n << 40n) | (1n << 50n) | (1n << 51n));
  });

  it('refuses bad configurations with a clear reason, and a closed device', async () => {
    const f = join(dir, 'small.img');
    sparseFile(f, 3 * MiB);
    await expect(
      Device.create({ backingPath: f, usableSizeBytes: usable, bitmapOffsetBytes: bmOffset, bitmapBits: 256, nbdSocketPath: join(dir, 'x.sock') }),
    ).rejects.toThrow(/bitmapBits must be an integer >= 257/);
    await expect(
      Device.create({ backingPath: f, usableSizeBytes: usable, bitmapOffsetBytes: 3 * MiB, bitmapBits: bits, nbdSocketPath: join(dir, 'x.sock') }),
    ).rejects.toThrow(/bitmap area .* beyond the end/);
    await expect(
      Device.create({ backingPath: join(dir, 'nope.img'), usableSizeBytes: usable, bitmapOffsetBytes: bmOffset, bitmapBits: bits, nbdSocketPath: join(dir, 'x.sock') }),
    ).rejects.toThrow(/cannot open .*nope\.img: No such file/);
    // Something that is not a socket at the socket path is not ours to replace.
    await expect(
      Device.create({ backingPath: f, usableSizeBytes: usable, bitmapOffsetBytes: bmOffset, bitmapBits: bits, nbdSocketPath: f }),
    ).rejects.toThrow(/cannot listen on .*small\.img: Address already in use/);
    const { dev } = await open();
    await dev.close();
    expect(() => dev.bitmap.countSet()).toThrow(/device is closed/);
  });
});
