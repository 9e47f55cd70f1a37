// Replicated writes through NBD (protocol C, peer on loopback, tmpfs backing files) against
// the same node unreplicated (peer disconnected) and against `nbdkit file`, in one run.
//   npx vitest run --config vitest.bench.config.ts test/bench/replication.bench.test.ts
// Targets (issue 3): unreplicated >= 0.9 x nbdkit; replicated >= 0.8 x unreplicated; 4 KiB
// QD1 p50 latency <= unreplicated + 100 us.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device } from '../../src/engine/device.js';
import { PeerLink, type LinkEvent } from '../../src/engine/peer-link.js';
import { internalLayout, sparseFile } from '../integration/nbd-helpers.js';
import { linkSettings } from '../support/link.js';
import { MiB, ROUNDS, SECONDS, WORKLOADS, bestOf, requireFioNbd, startNbdkit, table, type Result } from './fio.js';

const BACKING = 1024 * MiB;

describe('replicated write path: protocol C vs unreplicated vs nbdkit (tmpfs)', () => {
  const dir = mkdtempSync(join('/dev/shm', 'udrbd-repl-'));
  const layout = internalLayout(BACKING);
  const port = 17500 + (process.pid % 400);
  let a: Device;
  let b: Device;
  let linkA: PeerLink;
  let linkB: PeerLink;
  let nbdkit: ChildProcess | undefined;
  const events: LinkEvent[] = [];

  beforeAll(async () => {
    await requireFioNbd();
    for (const n of ['a', 'b', 'kit']) sparseFile(join(dir, `${n}.img`), n === 'kit' ? layout.usableSizeBytes : BACKING);
    a = await Device.create({ backingPath: join(dir, 'a.img'), ...layout, nbdSocketPath: join(dir, 'a.sock') });
    b = await Device.create({ backingPath: join(dir, 'b.img'), ...layout, nbdSocketPath: join(dir, 'b.sock') });
    const settings = (local: string, peer: string) => linkSettings(local, peer, port, { connectIntMs: 1000 });
    const onEvents = (link: () => PeerLink) => (evs: LinkEvent[]) => {
      for (const e of evs) {
        events.push(e);
        if (e.type === 'control' && !e.meta) link().resumeReceive();
      }
    };
    linkA = new PeerLink(a, onEvents(() => linkA));
    linkB = new PeerLink(b, onEvents(() => linkB));
    linkA.start(settings('127.0.0.1', '127.0.0.2'));
    linkB.start(settings('127.0.0.2', '127.0.0.1'));
    for (let i = 0; i < 500 && events.filter((e) => e.type === 'connected').length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    a.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: false });
    b.setPolicy({ primary: false, writable: false, diskUsable: true, markOutOfSync: false });
    linkA.setReplicating(true);
    linkB.setReplicating(true);
    nbdkit = await startNbdkit(join(dir, 'kit.img'), join(dir, 'kit.sock'));
  });

  afterAll(async () => {
    nbdkit?.kill('SIGTERM');
    linkA?.stop();
    linkB?.stop();
    await a?.close();
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('meets the ratios of the issue', async () => {
    const size = 512 * MiB;
    const replicated: Record<string, Result> = {};
    for (const w of WORKLOADS) replicated[w.name] = (await bestOf(w, size, { replicated: join(dir, 'a.sock') })).replicated!;
    expect(linkA.counters().nsBytes, 'the writes went to the peer').toBeGreaterThan(0);
    // The same node with its peer gone: local writes only, bits set.
    linkB.stop();
    for (let i = 0; i < 200 && !events.some((e) => e.type === 'lost'); i++) await new Promise((r) => setTimeout(r, 20));
    a.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: true });
    const rows = [];
    const checks: Array<[string, number, number]> = [];
    for (const w of WORKLOADS) {
      const r = await bestOf(w, size, { unreplicated: join(dir, 'a.sock'), nbdkit: join(dir, 'kit.sock') });
      const rep = replicated[w.name]!;
      const un = r.unreplicated!;
      const kit = r.nbdkit!;
      rows.push({
        workload: w.name,
        results: { replicated: rep, unreplicated: un, nbdkit: kit },
        ratio: `replicated/unreplicated ${(rep.mibps / un.mibps).toFixed(2)}  unreplicated/nbdkit ${(un.mibps / kit.mibps).toFixed(2)}  p50 +${(rep.p50us - un.p50us).toFixed(0)} us`,
      });
      checks.push([`${w.name}: unreplicated / nbdkit`, un.mibps / kit.mibps, 0.9]);
      checks.push([`${w.name}: replicated / unreplicated`, rep.mibps / un.mibps, 0.8]);
      if (w.name.startsWith('randwrite')) checks.push([`${w.name}: p50 latency added by replication (us, at most 100)`, 100 - (rep.p50us - un.p50us), 0]);
    }
    console.log(`\n${table(rows)}\n(best of ${ROUNDS} x ${SECONDS} s each, tmpfs, protocol C over 127.0.0.1)`);
    for (const [what, value, min] of checks) expect(value, what).toBeGreaterThanOrEqual(min);
  }, 900_000);
});
