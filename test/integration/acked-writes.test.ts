// Protocol C's promise (replication-protocol.md §1): a write the Primary acknowledged is on
// the Secondary's disk. A client writes numbered 4 KiB blocks and logs each acknowledgement
// while the Primary's daemon is SIGKILLed at a random moment; after the Secondary is
// promoted, every acknowledged block must be there. Protocol A and B promise less (A: handed
// to TCP; B: received by the peer) — the same run checks that B's acknowledged writes
// survive a crash of the Primary alone (the peer's memory is not lost), as B promises.
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RawNbdClient } from '../../src/engine/nbd-client.js';
import { Cluster } from '../support/cluster.js';

const BLOCK = 4096;
const BLOCKS = 4096; // 16 MiB of distinct blocks, each written at most once

function block(n: number): Buffer {
  const b = Buffer.alloc(BLOCK, n & 0xff);
  b.writeUInt32BE(n, 0);
  b.write('udrbd-acked', 8);
  return b;
}

async function crashDuringWrites(protocol: 'B' | 'C'): Promise<{ acked: number[]; c: Cluster }> {
  const c = new Cluster(['alpha', 'beta'], { protocol, disk: '    resync-rate 100M;\n    c-plan-ahead 0;' });
  for (const n of c.nodes) expect(n.drbdadm('create-md', 'r0').code).toBe(0);
  for (const n of c.nodes) expect(n.drbdadm('up', 'r0').code).toBe(0);
  await c.waitState('beta', /cs:Connected/);
  expect(c.node('alpha').drbdadm('primary', '--force', 'r0').code).toBe(0);
  await c.waitState('beta', /cs:Connected ro:Secondary\/Primary ds:UpToDate\/UpToDate/, 60_000);

  const client = await RawNbdClient.open(join(c.node('alpha').runDir, 'drbd0.sock'));
  const acked: number[] = [];
  let stop = false;
  // Eight writers, each waiting for its acknowledgement before logging it.
  const writer = async (start: number) => {
    for (let n = start; n < BLOCKS && !stop; n += 8) {
      try {
        await client.pwrite(n * BLOCK, block(n));
        acked.push(n);
      } catch {
        return; // the server is gone: this write was not acknowledged
      }
    }
  };
  const writers = Array.from({ length: 8 }, (_, i) => writer(i));
  await new Promise((r) => setTimeout(r, 300 + randomInt(1200)));
  c.node('alpha').crash();
  stop = true;
  await Promise.allSettled(writers);
  await client.close().catch(() => undefined);
  return { acked, c };
}

describe('acknowledged writes survive the crash of the Primary', () => {
  const clusters: Cluster[] = [];
  afterAll(async () => {
    for (const c of clusters) await c.destroy();
  });

  for (const protocol of ['C', 'B'] as const) {
    it(`protocol ${protocol}: every acknowledged block is on the promoted Secondary`, async () => {
      const { acked, c } = await crashDuringWrites(protocol);
      clusters.push(c);
      expect(acked.length, 'some writes were acknowledged before the crash').toBeGreaterThan(10);
      await c.waitState('beta', /cs:WFConnection ro:Secondary\/Unknown ds:UpToDate/, 20_000);
      const r = c.node('beta').drbdadm('primary', 'r0');
      expect(r.code, r.stderr).toBe(0);
      const reader = await RawNbdClient.open(join(c.node('beta').runDir, 'drbd0.sock'));
      try {
        const missing: number[] = [];
        for (const n of acked) {
          const got = await reader.pread(n * BLOCK, BLOCK);
          if (!got.equals(block(n))) missing.push(n);
        }
        expect(missing, `acknowledged blocks missing on the survivor (of ${acked.length})`).toEqual([]);
      } finally {
        await reader.close();
      }
    });
  }
});
