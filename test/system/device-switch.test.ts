// /dev/drbdN through the daemons, as root (this machine kind has root, /dev/fuse and loop
// devices): the Primary gets its device node, mkfs.xfs and mount work, `secondary` is refused
// with DRBD's -12 while the filesystem is mounted, and after the switch the other node mounts
// the same files. On one machine each host needs its own minor (one /dev).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../support/cluster.js';
import { waitFor } from '../support/node-env.js';

const DEV = { alpha: '/dev/drbd40', beta: '/dev/drbd41' };

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('/dev/drbdN through the daemons: xfs, demote refused while mounted, switch', () => {
  let c: Cluster;
  let mnt: string;
  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error('this system test needs root (device nodes, mounts)');
    c = new Cluster(['alpha', 'beta'], { devices: DEV, sizeMiB: 320, disk: '    resync-rate 200M;\n    c-plan-ahead 0;' });
    for (const n of c.nodes) n.deviceNodes = true;
    mnt = join(c.dir, 'mnt');
    mkdirSync(mnt);
  });
  afterAll(async () => {
    try {
      execFileSync('umount', [mnt], { stdio: 'ignore' });
    } catch {
      /* not mounted */
    }
    for (const n of c.nodes) n.drbdadm('down', 'r0');
    await c.destroy();
  });

  it('the Primary has a block device: mkfs.xfs, mount, write, fsync', async () => {
    for (const n of c.nodes) expect(n.drbdadm('create-md', 'r0').code).toBe(0);
    for (const n of c.nodes) expect(n.drbdadm('up', 'r0').code).toBe(0);
    await c.waitState('beta', /cs:Connected/);
    expect(c.node('alpha').drbdadm('primary', '--force', 'r0').code).toBe(0);
    await c.waitState('alpha', /cs:Connected ro:Primary\/Secondary ds:UpToDate\/UpToDate/, 60_000);
    await waitFor('/dev/drbd40', () => existsSync(DEV.alpha));
    expect(statSync(DEV.alpha).isBlockDevice()).toBe(true);
    expect(existsSync(DEV.beta)).toBe(false); // a Secondary has none
    sh('mkfs.xfs', ['-q', '-f', DEV.alpha]);
    sh('mount', [DEV.alpha, mnt]);
    writeFileSync(join(mnt, 'hello.txt'), 'written on alpha\n');
    sh('sync', ['-f', join(mnt, 'hello.txt')]);
  });

  it('secondary is refused with (-12) while the filesystem is mounted', () => {
    const r = c.node('alpha').drbdadm('secondary', 'r0');
    expect(r.code).toBe(11);
    expect(r.stderr).toContain('40: State change failed: (-12) Device is held open by someone');
    expect(c.stateLine('alpha')).toContain('ro:Primary/Secondary');
  });

  it('after umount the roles switch and the other node mounts the same files', async () => {
    sh('umount', [mnt]);
    const r = c.node('alpha').drbdadm('secondary', 'r0');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(DEV.alpha)).toBe(false);
    expect(c.node('beta').drbdadm('primary', 'r0').code).toBe(0);
    await waitFor('/dev/drbd41', () => existsSync(DEV.beta));
    sh('mount', [DEV.beta, mnt]);
    expect(readFileSync(join(mnt, 'hello.txt'), 'utf8')).toBe('written on alpha\n');
    sh('umount', [mnt]);
    expect(c.node('beta').drbdadm('secondary', 'r0').code).toBe(0);
  });
});
