// Device lifetime: close() with busy clients, and a process that ends with clients still
// connected (exit() or an empty event loop) must end cleanly, never crash.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Device } from '../../src/engine/device.js';
import { internalLayout, sparseFile } from './nbd-helpers.js';
import { NBD, RawNbdClient } from '../../src/engine/nbd-client.js';

const MiB = 1024 * 1024;
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Keeps N writes in flight on C until stop() is called; resolves with the replies seen. */
function keepBusy(c: RawNbdClient, n: number): { stop: () => Promise<number> } {
  let stopped = false;
  let replies = 0;
  const payload = Buffer.alloc(256 * 1024, 5);
  const loop = (async () => {
    let h = 0n;
    for (let i = 0; i < n; i++) c.send(NBD.CMD_WRITE, h++, (i % 64) * payload.length, payload.length, 0, payload);
    while (!stopped) {
      const r = await c.reply().catch(() => null);
      if (!r) return;
      replies++;
      c.send(NBD.CMD_WRITE, h++, Number(h % 64n) * payload.length, payload.length, 0, payload);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await Promise.race([loop, new Promise((r) => setTimeout(r, 5000))]);
      return replies;
    },
  };
}

describe('Device lifecycle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'udrbd-nbd-life-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('close() completes in-flight requests, disconnects clients and removes the socket', async () => {
    const backing = join(dir, 'a.img');
    const sock = join(dir, 'a.sock');
    sparseFile(backing, 64 * MiB);
    const dev = await Device.create({ backingPath: backing, ...internalLayout(64 * MiB), nbdSocketPath: sock });
    dev.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: true });
    const c = await RawNbdClient.open(sock);
    const busy = keepBusy(c, 16);
    await new Promise((r) => setTimeout(r, 300));
    await dev.close();
    expect(await c.closedByServer()).toBe(true);
    expect(await busy.stop()).toBeGreaterThan(0);
    expect(existsSync(sock)).toBe(false);
    expect(() => dev.counters()).toThrow(/device is closed/);
    // The bitmap marked by those writes reached the meta-data area at close.
    const again = await Device.create({ backingPath: backing, ...internalLayout(64 * MiB), nbdSocketPath: sock });
    expect(again.bitmap.countSet()).toBe(64 * 64);
    await again.close();
  });

  for (const mode of ['exit', 'natural'] as const) {
    it(`a process that ends (${mode === 'exit' ? 'process.exit()' : 'empty event loop'}) with busy clients exits cleanly`, async () => {
      const backing = join(dir, `${mode}.img`);
      const sock = join(dir, `${mode}.sock`);
      sparseFile(backing, 64 * MiB);
      const child = spawn(join(root, 'node_modules', '.bin', 'vite-node'), [join(root, 'test/integration/nbd-exit-child.ts'), backing, sock, mode], {
        cwd: root,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      );
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        child.on('exit', () => reject(new Error(`child exited before ready: ${stderr}`)));
      });
      const clients = await Promise.all([RawNbdClient.open(sock), RawNbdClient.open(sock)]);
      const busy = clients.map((c) => keepBusy(c, 8));
      await new Promise((r) => setTimeout(r, 300));
      child.stdin.write('go\n');
      const result = await exited;
      expect({ ...result, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
      for (const c of clients) expect(await c.closedByServer()).toBe(true);
      for (const b of busy) expect(await b.stop()).toBeGreaterThan(0);
    });
  }
});
