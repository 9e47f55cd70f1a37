// Two udrbd daemons on loopback, driven with drbdadm exactly as the seeds' administrators
// drive DRBD: create-md, up, the status file, role changes and their refusals, disconnect
// and connect, a peer that dies, authentication, and split-brain detection.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, sha256File } from './nbd-helpers.js';
import { Cluster } from '../support/cluster.js';
import { waitFor } from '../support/node-env.js';

describe('two udrbd nodes: connect, roles, status', () => {
  let c: Cluster;
  beforeAll(() => {
    c = new Cluster();
  });
  afterAll(() => c.destroy());

  it('create-md and up bring both to Connected Secondary/Secondary Inconsistent/Inconsistent', async () => {
    for (const n of c.nodes) {
      const r = n.drbdadm('create-md', 'r0');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('New drbd meta data block successfully created.');
    }
    for (const n of c.nodes) {
      const r = n.drbdadm('up', 'r0');
      expect(r.code, r.stderr).toBe(0);
    }
    for (const name of c.names) {
      await c.waitState(name, /cs:Connected/);
    }
    // Spec/proc-drbd.md §4 (a), field by field: 64 MiB backing = 65496 KiB device, all of it
    // out of sync after the first attach; AL updates resumed once connected.
    const text = c.node('alpha').status().split('\n');
    expect(text[0]).toBe('version: 8.4.7-1 (api:1/proto:86-101)');
    expect(text[1]).toMatch(/^GIT-hash: [0-9a-f]{40} build by \S+@\S+, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(text[2]).toBe(' 0: cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent C r-----');
    expect(text[3]).toMatch(/^    ns:0 nr:0 dw:0 dr:0 al:\d+ bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:65496$/);
    expect(c.stateLine('beta')).toBe(' 0: cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent C r-----');
    expect(c.log('alpha')).toContain('block drbd0: uuid_compare()=0 by rule 10');
  });

  it('role, cstate, dstate print what drbdsetup prints', () => {
    const a = c.node('alpha');
    expect(a.drbdadm('role', 'r0').stdout).toBe('Secondary/Secondary\n');
    expect(a.drbdadm('cstate', 'r0').stdout).toBe('Connected\n');
    expect(a.drbdadm('dstate', 'r0').stdout).toBe('Inconsistent/Inconsistent\n');
    const gi = a.drbdadm('get-gi', 'r0');
    expect(gi.code).toBe(0);
    expect(gi.stdout).toMatch(/^0000000000000004:0000000000000000:0000000000000000:0000000000000000:/);
  });

  it('primary without good data is refused with DRBD text and exit code 17', () => {
    const r = c.node('alpha').drbdadm('primary', 'r0');
    expect(r.code).toBe(17);
    expect(r.stderr).toContain('0: State change failed: (-2) Need access to UpToDate data');
    expect(r.stderr).toContain("Command 'drbdsetup primary 0' terminated with exit code 17");
    expect(c.stateLine('alpha')).toContain('ro:Secondary/Secondary');
  });

  it('disconnect makes this node StandAlone and the peer wait; connect brings them back', async () => {
    const a = c.node('alpha');
    expect(a.drbdadm('disconnect', 'r0').code).toBe(0);
    // An Inconsistent peer disk stays known while disconnected (states.md §2.1 rule 1); the
    // protocol column is blank without a net config.
    await c.waitState('alpha', /^ 0: cs:StandAlone ro:Secondary\/Unknown ds:Inconsistent\/Inconsistent {3}r-----$/);
    await c.waitState('beta', /^ 0: cs:WFConnection ro:Secondary\/Unknown ds:Inconsistent\/Inconsistent C r-----$/);
    // Disconnecting a StandAlone resource succeeds silently.
    expect(a.drbdadm('disconnect', 'r0').code).toBe(0);
    expect(a.drbdadm('connect', 'r0').code).toBe(0);
    await c.waitState('alpha', /cs:Connected/);
    await c.waitState('beta', /cs:Connected/);
  });

  it('a peer that dies is noticed within ping-timeout; it reconnects when it comes back', async () => {
    c.node('beta').crash();
    const t0 = Date.now();
    await c.waitState('alpha', /cs:WFConnection/, 20_000);
    // ping-int 2 s + ping-timeout 1 s, plus the socket noticing a dead process at once.
    expect(Date.now() - t0).toBeLessThan(10_000);
    const b = c.node('beta');
    const r = b.drbdadm('up', 'r0');
    expect(r.code, r.stderr).toBe(0);
    await c.waitState('alpha', /cs:Connected/);
    await c.waitState('beta', /cs:Connected/);
  });

  it('down removes the minor from the status file', async () => {
    for (const n of c.nodes) expect(n.drbdadm('down', 'r0').code).toBe(0);
    await waitFor('empty status', () => c.node('alpha').status().split('\n').filter(Boolean).length === 2);
  });
});

describe('two udrbd nodes: authentication', () => {
  let c: Cluster;
  beforeAll(() => {
    c = new Cluster(['alpha', 'beta'], { net: '    cram-hmac-alg sha1;\n    shared-secret "udrbd-test";' });
  });
  afterAll(() => c.destroy());

  it('connects with the same shared-secret and refuses a different one', async () => {
    for (const n of c.nodes) {
      expect(n.drbdadm('create-md', 'r0').code).toBe(0);
      expect(n.drbdadm('up', 'r0').code).toBe(0);
    }
    await c.waitState('alpha', /cs:Connected/);
    expect(c.log('alpha')).toContain('drbd r0: Peer authenticated using 20 bytes HMAC');
    for (const n of c.nodes) expect(n.drbdadm('down', 'r0').code).toBe(0);

    // beta's copy of the configuration has another secret.
    const good = c.config;
    c.writeConfig({ net: '    cram-hmac-alg sha1;\n    shared-secret "wrong";' });
    expect(c.node('beta').drbdadm('up', 'r0').code).toBe(0);
    c.writeConfig({ net: '    cram-hmac-alg sha1;\n    shared-secret "udrbd-test";' });
    expect(c.node('alpha').drbdadm('up', 'r0').code).toBe(0);
    await waitFor('auth failure', () => c.log('alpha').includes('drbd r0: Authentication of peer failed') || c.log('beta').includes('drbd r0: Authentication of peer failed'));
    await c.waitState('alpha', /cs:(StandAlone|WFConnection)/);
    expect(c.stateLine('alpha')).not.toContain('cs:Connected');
    expect(c.stateLine('beta')).not.toContain('cs:Connected');
    void good;
  });
});

describe('two udrbd nodes: split brain', () => {
  let c: Cluster;
  beforeAll(() => {
    c = new Cluster();
  });
  afterAll(() => c.destroy());

  it('two Primaries made while apart are detected on reconnect and both go StandAlone', async () => {
    for (const n of c.nodes) {
      expect(n.drbdadm('create-md', 'r0').code).toBe(0);
      expect(n.drbdadm('up', 'r0').code).toBe(0);
    }
    await c.waitState('alpha', /cs:Connected/);
    // The seed's split-brain setup: cut the connection, then make both Primary.
    for (const n of c.nodes) expect(n.drbdadm('disconnect', 'r0').code).toBe(0);
    for (const n of c.nodes) {
      const r = n.drbdadm('primary', '--force', 'r0');
      expect(r.code, r.stderr).toBe(0);
    }
    expect(c.stateLine('alpha')).toBe(' 0: cs:StandAlone ro:Primary/Unknown ds:UpToDate/Inconsistent   r-----');
    for (const n of c.nodes) expect(n.drbdadm('connect', 'r0').code).toBe(0);
    for (const name of c.names) {
      await waitFor(`${name} split brain`, () => c.log(name).includes('block drbd0: Split-Brain detected but unresolved, dropping connection!'));
      await c.waitState(name, /cs:StandAlone ro:Primary\/Unknown ds:UpToDate\//);
    }
    expect(c.log('alpha')).toContain('helper command: /sbin/drbdadm split-brain minor-0');
    expect(c.log('alpha').some((l) => /uuid_compare\(\)=100 by rule 90/.test(l))).toBe(true);
  });
});

describe('two udrbd nodes: the seed walkthrough', () => {
  let c: Cluster;
  const dataBytes = 16 << 20;
  const usable = (64 << 20) - 40 * 1024; // 64 MiB minus internal meta-data (spec example: 65496 KiB)
  beforeAll(() => {
    c = new Cluster(['alpha', 'beta'], { disk: '    resync-rate 100M;\n    c-plan-ahead 0;' });
  });
  afterAll(() => c.destroy());

  const sock = (name: string) => join(c.node(name).runDir, 'drbd0.sock');
  const dataArea = (name: string) => sha256File(c.disk(name), usable);

  it('primary --force starts the initial sync; both end UpToDate with identical data', async () => {
    for (const n of c.nodes) expect(n.drbdadm('create-md', 'r0').code).toBe(0);
    for (const n of c.nodes) expect(n.drbdadm('up', 'r0').code).toBe(0);
    await c.waitState('beta', /cs:Connected/);
    // Something on alpha's disk that the sync has to carry over.
    writeFileSync(join(c.dir, 'seed.bin'), randomBytes(1 << 20));
    await run('nbdcopy', [join(c.dir, 'seed.bin'), `nbd+unix:///?socket=${sock('alpha')}`]).catch(() => undefined);
    const r = c.node('alpha').drbdadm('primary', '--force', 'r0');
    expect(r.code, r.stderr).toBe(0);
    await c.waitState('beta', /cs:SyncTarget ro:Secondary\/Primary ds:Inconsistent\/UpToDate/, 15_000).catch(() => '');
    await c.waitState('alpha', /^ 0: cs:Connected ro:Primary\/Secondary ds:UpToDate\/UpToDate C r-----$/, 60_000);
    await c.waitState('beta', /^ 0: cs:Connected ro:Secondary\/Primary ds:UpToDate\/UpToDate C r-----$/, 10_000);
    expect(c.log('beta')).toContain('block drbd0: uuid_compare()=-2 by rule 20');
    expect(c.log('beta').some((l) => /Began resync as SyncTarget \(will sync 65496 KB \[16374 bits set\]\)\./.test(l))).toBe(true);
    expect(c.node('beta').status()).toMatch(/oos:0\n/);
    expect(await dataArea('beta')).toBe(await dataArea('alpha'));
  });

  it('protocol C writes on the Primary are on the Secondary when acknowledged', async () => {
    const src = join(c.dir, 'w1.bin');
    writeFileSync(src, randomBytes(dataBytes));
    await run('nbdcopy', [src, `nbd+unix:///?socket=${sock('alpha')}`]);
    expect(await dataArea('beta')).toBe(await dataArea('alpha'));
    expect(await sha256File(c.disk('beta'), dataBytes)).toBe(await sha256File(src, dataBytes));
  });

  it('switches roles by hand and writes the other way', async () => {
    expect(c.node('alpha').drbdadm('secondary', 'r0').code).toBe(0);
    const r = c.node('beta').drbdadm('primary', 'r0');
    expect(r.code, r.stderr).toBe(0);
    await c.waitState('alpha', /ro:Secondary\/Primary ds:UpToDate\/UpToDate/);
    const src = join(c.dir, 'w2.bin');
    writeFileSync(src, randomBytes(dataBytes));
    await run('nbdcopy', [src, `nbd+unix:///?socket=${sock('beta')}`]);
    expect(await sha256File(c.disk('alpha'), dataBytes)).toBe(await sha256File(src, dataBytes));
    // A Secondary's export is read-only.
    await expect(run('nbdcopy', [src, `nbd+unix:///?socket=${sock('alpha')}`])).rejects.toThrow();
  });

  it('the survivor of a crashed Primary takes over; the crashed node rejoins and resyncs from it', async () => {
    c.node('beta').crash();
    await c.waitState('alpha', /cs:WFConnection ro:Secondary\/Unknown ds:UpToDate\/DUnknown/, 20_000);
    const r = c.node('alpha').drbdadm('primary', 'r0');
    expect(r.code, r.stderr).toBe(0);
    const src = join(c.dir, 'w3.bin');
    writeFileSync(src, randomBytes(4 << 20));
    await run('nbdcopy', [src, `nbd+unix:///?socket=${sock('alpha')}`]);
    expect(c.node('beta').drbdadm('up', 'r0').code).toBe(0);
    await c.waitState('beta', /^ 0: cs:Connected ro:Secondary\/Primary ds:UpToDate\/UpToDate C r-----$/, 60_000);
    // beta missed alpha's new generation: bitmap-based resync, not a full one.
    expect(c.log('beta').some((l) => /uuid_compare\(\)=-1 by rule 50/.test(l))).toBe(true);
    expect(await dataArea('beta')).toBe(await dataArea('alpha'));
  });
});


describe('two udrbd nodes: split-brain recovery', () => {
  /** Connected and synced, then split: both Primary with a write each while apart. */
  async function splitBrain(c: Cluster, writes: { alpha: number; beta: number }): Promise<void> {
    for (const n of c.nodes) expect(n.drbdadm('create-md', 'r0').code).toBe(0);
    for (const n of c.nodes) expect(n.drbdadm('up', 'r0').code).toBe(0);
    await c.waitState('beta', /cs:Connected/);
    expect(c.node('alpha').drbdadm('primary', '--force', 'r0').code).toBe(0);
    await c.waitState('beta', /cs:Connected ro:Secondary\/Primary ds:UpToDate\/UpToDate/, 60_000);
    for (const n of c.nodes) expect(n.drbdadm('disconnect', 'r0').code).toBe(0);
    for (const name of c.names) {
      const n = c.node(name);
      if (n.drbdadm('role', 'r0').stdout.startsWith('Secondary')) expect(n.drbdadm('primary', 'r0').code).toBe(0);
      const count = writes[name as 'alpha' | 'beta'];
      if (count > 0) {
        const src = join(c.dir, `${name}-sb.bin`);
        writeFileSync(src, randomBytes(count * 4096));
        await run('nbdcopy', [src, `nbd+unix:///?socket=${join(n.runDir, 'drbd0.sock')}`]);
      }
    }
  }

  it('after-sb-0pri discard-zero-changes: the node without changes becomes SyncTarget automatically', async () => {
    const c = new Cluster(['alpha', 'beta'], { net: '    after-sb-0pri discard-zero-changes;', disk: '    resync-rate 100M;\n    c-plan-ahead 0;' });
    try {
      await splitBrain(c, { alpha: 8, beta: 0 });
      // Both Secondary again before reconnecting: the 0-primaries policy applies.
      for (const n of c.nodes) expect(n.drbdadm('secondary', 'r0').code).toBe(0);
      for (const n of c.nodes) expect(n.drbdadm('connect', 'r0').code).toBe(0);
      await c.waitState('beta', /cs:Connected ro:Secondary\/Secondary ds:UpToDate\/UpToDate/, 60_000);
      expect(c.log('alpha').some((l) => l.includes('Split-Brain detected, 0 primaries, automatically solved. Sync from this node'))).toBe(true);
      expect(c.log('beta').some((l) => l.includes('Split-Brain detected, 0 primaries, automatically solved. Sync from peer node'))).toBe(true);
      expect(c.log('beta')).toContain('helper command: /sbin/drbdadm initial-split-brain minor-0');
    } finally {
      await c.destroy();
    }
  });

  it('after-sb-1pri discard-secondary: the Secondary’s changes are discarded', async () => {
    const c = new Cluster(['alpha', 'beta'], { net: '    after-sb-0pri discard-zero-changes;\n    after-sb-1pri discard-secondary;', disk: '    resync-rate 100M;\n    c-plan-ahead 0;' });
    try {
      await splitBrain(c, { alpha: 8, beta: 8 });
      expect(c.node('beta').drbdadm('secondary', 'r0').code).toBe(0);
      for (const n of c.nodes) expect(n.drbdadm('connect', 'r0').code).toBe(0);
      await c.waitState('beta', /cs:Connected ro:Secondary\/Primary ds:UpToDate\/UpToDate/, 60_000);
      expect(c.log('alpha').some((l) => l.includes('Split-Brain detected, 1 primaries, automatically solved. Sync from this node'))).toBe(true);
    } finally {
      await c.destroy();
    }
  });

  it('unresolved split brain, then the seed’s manual recovery with --discard-my-data', async () => {
    const c = new Cluster(['alpha', 'beta'], { disk: '    resync-rate 100M;\n    c-plan-ahead 0;' });
    try {
      await splitBrain(c, { alpha: 8, beta: 8 });
      for (const n of c.nodes) expect(n.drbdadm('connect', 'r0').code).toBe(0);
      for (const name of c.names) {
        await waitFor(`${name} split brain`, () => c.log(name).includes('block drbd0: Split-Brain detected but unresolved, dropping connection!'));
        await c.waitState(name, /cs:StandAlone/);
      }
      // The victim gives up its changes (the 8.3 spelling, as in the seed); the survivor reconnects.
      const beta = c.node('beta');
      expect(beta.drbdadm('secondary', 'r0').code).toBe(0);
      const r = beta.run('drbdadm', ['-c', c.config, '--', '--discard-my-data', 'connect', 'r0']);
      expect(r.code, r.stderr).toBe(0);
      expect(c.node('alpha').drbdadm('connect', 'r0').code).toBe(0);
      await c.waitState('beta', /cs:Connected ro:Secondary\/Primary ds:UpToDate\/UpToDate/, 60_000);
      expect(c.log('beta').some((l) => l.includes('Split-Brain detected, manually solved. Sync from peer node'))).toBe(true);
      const usable = (64 << 20) - 40 * 1024;
      expect(await sha256File(c.disk('beta'), usable)).toBe(await sha256File(c.disk('alpha'), usable));
    } finally {
      await c.destroy();
    }
  });
});

describe('two udrbd nodes: unrelated data', () => {
  it('a peer whose data shares no history is refused: StandAlone, nothing synced', async () => {
    const c = new Cluster(['alpha', 'beta'], { disk: '    resync-rate 100M;\n    c-plan-ahead 0;' });
    try {
      for (const n of c.nodes) expect(n.drbdadm('create-md', 'r0').code).toBe(0);
      for (const n of c.nodes) expect(n.drbdadm('up', 'r0').code).toBe(0);
      await c.waitState('beta', /cs:Connected/);
      expect(c.node('alpha').drbdadm('primary', '--force', 'r0').code).toBe(0);
      await c.waitState('beta', /cs:Connected ro:Secondary\/Primary ds:UpToDate\/UpToDate/, 60_000);
      // beta starts over with new meta-data and a generation of its own.
      const beta = c.node('beta');
      expect(beta.drbdadm('down', 'r0').code).toBe(0);
      expect(beta.drbdadm('create-md', '--force', 'r0').code).toBe(0);
      expect(beta.drbdadm('up', 'r0').code).toBe(0);
      expect(beta.drbdadm('disconnect', 'r0').code).toBe(0);
      expect(beta.drbdadm('primary', '--force', 'r0').code).toBe(0);
      expect(beta.drbdadm('secondary', 'r0').code).toBe(0);
      expect(beta.drbdadm('connect', 'r0').code).toBe(0);
      await waitFor('unrelated data', () => c.log('beta').includes('block drbd0: Unrelated data, aborting!'));
      await c.waitState('beta', /cs:StandAlone/);
      expect(c.log('beta').some((l) => /uuid_compare\(\)=-1000 by rule 100/.test(l))).toBe(true);
    } finally {
      await c.destroy();
    }
  });
});
