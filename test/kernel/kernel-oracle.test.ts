// The kernel oracle: the real DRBD 8.4 module (Debian's drbd.ko) in qemu guests.
// Needs root and the Debian packages of scripts/install-deps.sh; a missing package fails
// every test here with a message naming it (never a skip).
// Artifacts (serial logs, command transcripts, /proc/drbd and dmesg) land in
// test-artifacts/kernel/<suite>/.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backingDataMd5, deviceMd5, drbdConf, minorLine, waitProcDrbd } from './drbd-helpers.js';
import { resetArtifacts, startGuest, udpLink, type Guest } from './rig.js';
import { suiteSetup } from './suite.js';

// Small disks keep resync and checksums quick under emulation; 16 MiB is 4096 bitmap bits.
const MiB = 16;

describe('kernel <-> kernel: two guests on an emulated cable', () => {
  const test = 'kernel-oracle-pair';
  const pair = suiteSetup(
    async () => {
      resetArtifacts(test);
      const dir = mkdtempSync(join(tmpdir(), 'udrbd-oracle-'));
      const link = await udpLink();
      // Booted in parallel: each guest is one vCPU and the machine has two cores.
      const started = await Promise.allSettled([
        startGuest({ test, name: 'node1', ip: '10.99.0.1/24', net: link.a, disks: [{ path: join(dir, 'node1.img'), sizeMiB: MiB }] }),
        startGuest({ test, name: 'node2', ip: '10.99.0.2/24', net: link.b, disks: [{ path: join(dir, 'node2.img'), sizeMiB: MiB }] }),
      ]);
      const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) {
        await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
        rmSync(dir, { recursive: true, force: true });
        throw failed.reason;
      }
      const [n1, n2] = started.map((s) => (s as PromiseFulfilledResult<Guest>).value) as [Guest, Guest];
      console.log(`kernel rig: booted node1 in ${n1.bootMs} ms, node2 in ${n2.bootMs} ms (${n1.accel})`);
      return { n1, n2, dir };
    },
    async ({ n1, n2, dir }) => {
      await Promise.all([n1.stop(), n2.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  );
  const both = (fn: (g: Guest) => Promise<unknown>): Promise<unknown[]> => Promise.all([fn(pair().n1), fn(pair().n2)]);

  it('runs the real DRBD 8.4.11 module', async () => {
    const { n1 } = pair();
    const r = await n1.run('cat /proc/drbd; uname -r; hostname', { check: true });
    expect(r.stdout).toContain('version: 8.4.11 (api:1/proto:86-101)');
    expect(r.stdout).toContain('node1');
    const bad = await n1.run('exit 3');
    expect(bad).toEqual({ stdout: '', stderr: '', code: 3 });
  });

  it('creates meta-data, comes up and connects Secondary/Secondary Inconsistent/Inconsistent', async () => {
    const { n1, n2 } = pair();
    const conf = drbdConf(
      { hostname: n1.hostname, address: n1.address! },
      { hostname: n2.hostname, address: n2.address! },
    );
    await both((g) => g.writeFile('/etc/drbd.conf', conf));
    const md = await Promise.all([n1, n2].map((g) => g.run('drbdadm create-md r0', { check: true })));
    for (const r of md) expect(r.stdout + r.stderr).toContain('New drbd meta data block successfully created.');
    await both((g) => g.run('drbdadm up r0', { check: true }));
    await both((g) =>
      waitProcDrbd(g, [/cs:Connected/, /ro:Secondary\/Secondary/, /ds:Inconsistent\/Inconsistent/]),
    );
  });

  it('primary --force makes a SyncSource and both sides end UpToDate/UpToDate', async () => {
    const { n1, n2 } = pair();
    await n1.run('drbdadm primary --force r0', { check: true });
    await waitProcDrbd(n1, [/cs:Connected/, /ro:Primary\/Secondary/, /ds:UpToDate\/UpToDate/], 60_000);
    await waitProcDrbd(n2, [/cs:Connected/, /ro:Secondary\/Primary/, /ds:UpToDate\/UpToDate/], 30_000);
    const log = (await n2.run('dmesg', { check: true })).stdout;
    expect(log).toMatch(/conn\( \w+ -> SyncTarget \)/);
    expect(log).toMatch(/Resync done/);
  });

  it('replicates writes: the data checksums match on both nodes', async () => {
    const { n1, n2 } = pair();
    await n1.run('dd if=/dev/urandom of=/dev/drbd0 bs=1M seek=1 count=4 conv=fsync 2>&1', { check: true });
    const [dev, back1, back2] = [await deviceMd5(n1), await backingDataMd5(n1), await backingDataMd5(n2)];
    expect(dev).toMatch(/^[0-9a-f]{32}$/);
    expect(back1).toBe(dev);
    expect(back2).toBe(dev);
  });

  it('a pulled cable gives NetworkFailure then WFConnection; plugging it back resyncs', async () => {
    const { n1, n2 } = pair();
    await n1.setLink(false);
    await both((g) => waitProcDrbd(g, [/cs:WFConnection/, /ds:UpToDate\/DUnknown/], 30_000));
    for (const g of [n1, n2]) {
      expect((await g.run('dmesg', { check: true })).stdout).toMatch(/conn\( Connected -> NetworkFailure \)/);
    }
    // Written while apart: only the bitmap's out-of-sync blocks go across afterwards.
    await n1.run('dd if=/dev/urandom of=/dev/drbd0 bs=4k seek=100 count=25 conv=fsync 2>&1', { check: true });
    expect(minorLine((await n1.run('cat /proc/drbd')).stdout)).toMatch(/oos:100\b/);
    await n1.setLink(true);
    await waitProcDrbd(n1, [/cs:Connected/, /ro:Primary\/Secondary/, /ds:UpToDate\/UpToDate/], 45_000);
    await waitProcDrbd(n2, [/cs:Connected/, /ds:UpToDate\/UpToDate/], 30_000);
    expect(await backingDataMd5(n2)).toBe(await deviceMd5(n1));
  });
});

describe('kernel <-> host process: a guest on a tap inside a network namespace', () => {
  const test = 'kernel-oracle-netns';
  const guest = suiteSetup(
    async () => {
      resetArtifacts(test);
      const g = await startGuest({ test, name: 'kguest', ip: '10.99.0.1/24', net: { kind: 'tap', hostCidr: '10.99.0.254/24' } });
      console.log(`kernel rig: booted kguest in ${g.bootMs} ms (${g.accel}), namespace ${g.netns!.name}`);
      return g;
    },
    (g) => g.stop(),
  );

  it('a process in the namespace connects to a listener in the guest', async () => {
    const g = guest();
    // The guest answers one connection with its hostname and keeps what it received.
    await g.run('(echo "hello from $(hostname)" | nc -l -p 7789 > /tmp/got 2>&1 &)', { check: true });
    const client = `
      const net = require('node:net');
      const tryOnce = (left) => {
        const s = net.connect(7789, '10.99.0.1');
        let got = '';
        s.setEncoding('utf8');
        s.on('connect', () => s.end('hello from the namespace\\n'));
        s.on('data', (d) => { got += d; });
        s.on('close', () => { if (got) { process.stdout.write(got); process.exit(0); } });
        // The listener may not be up yet: retry refused connections for a while.
        s.on('error', (e) => { if (left > 0) setTimeout(() => tryOnce(left - 1), 100); else { console.error(e.message); process.exit(1); } });
      };
      tryOnce(100);`;
    const r = await g.nsExec(process.execPath, ['-e', client], { timeoutMs: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello from kguest\n');
    const got = await g.run('for i in 1 2 3 4 5 6 7 8 9 10; do [ -s /tmp/got ] && break; sleep 0.2; done; cat /tmp/got');
    expect(got.stdout).toBe('hello from the namespace\n');
  });

  it('the guest connects out to a listener in the namespace (DRBD dials both ways)', async () => {
    const g = guest();
    const server = `
      const net = require('node:net');
      const srv = net.createServer((s) => {
        s.setEncoding('utf8');
        let got = '';
        // busybox nc never half-closes its side: answer on the first full line instead of at EOF.
        s.on('data', (d) => {
          got += d;
          if (got.includes('\\n')) { s.end('ack:' + got); process.stdout.write(got); }
        });
        s.on('close', () => process.exit(0));
      });
      srv.listen(7790, '10.99.0.254', () => console.error('listening'));
      setTimeout(() => process.exit(2), 20000);`;
    const child = g.nsSpawn(process.execPath, ['-e', server], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise<void>((resolve, reject) => {
      child.stderr!.setEncoding('utf8').on('data', (d: string) => d.includes('listening') && resolve());
      child.once('exit', (code) => reject(new Error(`namespace server exited ${code} before listening`)));
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const r = await g.run('echo "hello from $(hostname)" | nc 10.99.0.254 7790', { check: true, timeoutMs: 15_000 });
    expect(r.stdout).toBe('ack:hello from kguest\n');
    expect(await exited).toBe(0);
    expect(out).toBe('hello from kguest\n');
  });

  it('cuts the cable with setLink and removes its namespace at stop', async () => {
    const g = guest();
    const nsName = g.netns!.name;
    await g.setLink(false);
    const down = await g.nsExec('busybox', ['ping', '-c', '1', '-W', '1', '10.99.0.1'], { timeoutMs: 10_000 });
    expect(down.code).not.toBe(0);
    await g.setLink(true);
    const up = await g.nsExec('busybox', ['ping', '-c', '1', '-W', '5', '10.99.0.1'], { timeoutMs: 10_000 });
    expect(up.code).toBe(0);
    await g.stop();
    expect(existsSync(`/run/netns/${nsName}`)).toBe(false);
  });
});
