// A Primary killed under write load (SIGKILL of its daemon = a crash of the node). On restart
// `up` replays the activity log (apply-al), so only the extents that were hot at the crash are
// out of sync; the reconnect resyncs them from the crashed Primary and both disks end equal.
// A crash never needs a full sync (issue 4).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../support/cluster.js';
import { requireTool, sha256File } from './nbd-helpers.js';

const SIZE_MIB = 256;
const USABLE = SIZE_MIB * 1024 * 1024 - 40 * 1024 - 64 * 4096; // internal meta-data of a 256 MiB disk
const HOT_MIB = 16; // writes only land in the first 16 MiB: 4 activity-log extents


describe('crash of a Primary under write load', () => {
  let c: Cluster;
  beforeAll(() => {
    requireTool('fio', 'fio');
    c = new Cluster(['alpha', 'beta'], { sizeMiB: SIZE_MIB, disk: '    resync-rate 200M;\n    c-plan-ahead 0;\n    al-extents 67;' });
  });
  afterAll(() => c.destroy());

  it('resyncs only the activity-log extents and ends with identical disks', async () => {
    for (const n of c.nodes) expect(n.drbdadm('create-md', 'r0').code).toBe(0);
    for (const n of c.nodes) expect(n.drbdadm('up', 'r0').code).toBe(0);
    await c.waitState('beta', /cs:Connected/);
    expect(c.node('alpha').drbdadm('primary', '--force', 'r0').code).toBe(0);
    await c.waitState('beta', /cs:Connected ro:Secondary\/Primary ds:UpToDate\/UpToDate/, 120_000);

    const sock = join(c.node('alpha').runDir, 'drbd0.sock');
    const fio = spawn('fio', ['--name=crash', '--ioengine=nbd', `--uri=nbd+unix:///?socket=${sock}`, '--rw=randwrite', '--bs=4k',
      '--iodepth=16', `--size=${HOT_MIB}M`, '--time_based', '--runtime=30'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 3000));
    c.node('alpha').crash();
    await new Promise((r) => fio.on('exit', r));
    await c.waitState('beta', /cs:WFConnection ro:Secondary\/Unknown ds:UpToDate/, 20_000);

    // Restart: up runs apply-al first; the AL of a crashed Primary marks its hot extents.
    const r = c.node('alpha').drbdadm('up', 'r0');
    expect(r.code, r.stderr).toBe(0);
    await c.waitState('alpha', /cs:Connected ro:Secondary\/Secondary ds:UpToDate\/UpToDate/, 120_000);
    await c.waitState('beta', /cs:Connected ro:Secondary\/Secondary ds:UpToDate\/UpToDate/, 10_000);
    const log = c.log('alpha');
    const began = log.findLast((l) => /Began resync as SyncSource \(will sync (\d+) KB/.test(l));
    expect(began, 'a resync from the crashed Primary').toBeDefined();
    const kb = Number(/will sync (\d+) KB/.exec(began!)![1]);
    expect(kb, 'only hot extents, never a full sync').toBeLessThanOrEqual(HOT_MIB * 1024);
    expect(kb).toBeGreaterThan(0);
    expect(log.some((l) => /uuid_compare\(\)=1 by rule 40/.test(l))).toBe(true);
    expect(await sha256File(c.disk('beta'), USABLE)).toBe(await sha256File(c.disk('alpha'), USABLE));
  });
});
