// drbdadm → udrbdd: the exact daemon commands, in order, with their arguments, for each
// drbdadm command (spec/states.md §5), single- and multi-volume, and `all`.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlDouble } from './control-double.js';
import { conf, HOST } from './fixture.js';
import { drbdadm, testDeps, tmpRunDir } from './helpers.js';
import type { NodeStatus } from '../../../src/daemon/commands.js';

let daemon: ControlDouble;
let deps: ReturnType<typeof testDeps>;
let file: string;

beforeEach(async () => {
  const dir = tmpRunDir();
  daemon = await new ControlDouble(dir).start();
  deps = testDeps(dir);
  file = conf();
});
afterEach(() => daemon.stop());

async function run(...args: string[]) {
  const r = await drbdadm(HOST, ['-c', file, ...args], deps);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r;
}

const arg = (i: number) => daemon.requests[i].args;

describe('up', () => {
  it('r0: new-resource, new-minor, attach, connect, with the resolved settings', async () => {
    await run('up', 'r0');
    expect(daemon.sequence()).toEqual(['new-resource r0', 'new-minor 0', 'attach 0', 'connect r0']);
    expect(deps.started).toEqual([deps.runDir]);
    expect(arg(0)).toMatchObject({ resource: 'r0', configFile: file, startup: { wfcTimeoutSec: 15, degrWfcTimeoutSec: 60 } });
    expect(arg(1)).toEqual({ resource: 'r0', minor: 0, volume: 0, device: '/dev/drbd0' });
    expect(arg(2)).toMatchObject({ minor: 0, disk: '/dev/sdb1', metaDisk: { kind: 'internal' }, diskOptions: { alExtents: 257, onIoError: 'detach' } });
    expect(arg(3)).toMatchObject({
      resource: 'r0',
      local: { af: 'ipv4', ip: '127.0.0.1', port: 7788 },
      peer: { af: 'ipv4', ip: '127.0.0.2', port: 7788 },
      peerHost: 'node2',
      net: { protocol: 'C', cramHmacAlg: 'sha1', sharedSecret: 's3cr3t' },
      discardMyData: false,
      dryRun: false,
    });
  });

  it('r1 (two volumes): one new-minor and one attach per volume', async () => {
    await run('up', 'r1');
    expect(daemon.sequence()).toEqual(['new-resource r1', 'new-minor 1', 'new-minor 2', 'attach 1', 'attach 2', 'connect r1']);
    expect(arg(2)).toEqual({ resource: 'r1', minor: 2, volume: 1, device: '/dev/drbd2' });
    expect(arg(4)).toMatchObject({ minor: 2, disk: '/dev/vg/b', metaDisk: { kind: 'indexed', path: '/dev/vg/meta', index: 0 } });
  });

  it('all: stage by stage across resources, in file order', async () => {
    await run('up', 'all');
    expect(daemon.sequence()).toEqual([
      'new-resource r0', 'new-minor 0', 'new-resource r1', 'new-minor 1', 'new-minor 2',
      'attach 0', 'attach 1', 'attach 2',
      'connect r0', 'connect r1',
    ]);
  });

  it('RES/VNR brings up that volume only', async () => {
    await run('up', 'r1/1');
    expect(daemon.sequence()).toEqual(['new-resource r1', 'new-minor 2', 'attach 2', 'connect r1']);
  });

  it('8.3 setup option --discard-my-data reaches the connect', async () => {
    await run('--', '--discard-my-data', 'up', 'r0');
    expect(arg(3)).toMatchObject({ discardMyData: true });
  });
});

describe('down, attach, detach, connect, disconnect', () => {
  it('down all: one down per resource', async () => {
    await run('down', 'all');
    expect(daemon.sequence()).toEqual(['down r0', 'down r1']);
    expect(arg(0)).toEqual({ resource: 'r0' });
  });

  it('attach r1: one attach per volume; command-line disk options override the config', async () => {
    await run('attach', '--al-extents=99', 'r1');
    expect(daemon.sequence()).toEqual(['attach 1', 'attach 2']);
    expect(arg(0)).toMatchObject({ diskOptions: { alExtents: 99 } });
  });

  it('detach, detach --force', async () => {
    await run('detach', 'r0');
    await run('detach', '--force', 'r1');
    expect(daemon.sequence()).toEqual(['detach 0', 'detach 1', 'detach 2']);
    expect(daemon.requests.map((r) => r.args.force)).toEqual([false, true, true]);
  });

  it('connect: --discard-my-data in both spellings, --tentative, typed net options', async () => {
    await run('connect', 'r0');
    await run('connect', '--discard-my-data', 'r0');
    await run('--', '--discard-my-data', 'connect', 'r0');
    await run('connect', '--tentative', '--protocol=a', 'r0');
    expect(daemon.sequence()).toEqual(['connect r0', 'connect r0', 'connect r0', 'connect r0']);
    expect(daemon.requests.map((r) => r.args.discardMyData)).toEqual([false, true, true, false]);
    expect(arg(3)).toMatchObject({ dryRun: true, net: { protocol: 'A' } });
  });

  it('disconnect, disconnect --force', async () => {
    await run('disconnect', 'r0');
    await run('disconnect', '--force', 'all');
    expect(daemon.sequence()).toEqual(['disconnect r0', 'disconnect r0', 'disconnect r1']);
    expect(daemon.requests.map((r) => r.args.force)).toEqual([false, true, true]);
  });
});

describe('primary, secondary', () => {
  it('primary --force and 8.3 -- --overwrite-data-of-peer primary both force', async () => {
    await run('primary', '--force', 'r0');
    await run('--', '--overwrite-data-of-peer', 'primary', 'r0');
    await run('primary', 'r0');
    expect(daemon.sequence()).toEqual(['primary 0', 'primary 0', 'primary 0']);
    expect(daemon.requests.map((r) => r.args)).toEqual([
      { minor: 0, force: true },
      { minor: 0, force: true },
      { minor: 0, force: false },
    ]);
  });

  it('primary r1 promotes every volume; secondary all demotes every minor', async () => {
    await run('primary', 'r1');
    await run('secondary', 'all');
    expect(daemon.sequence()).toEqual(['primary 1', 'primary 2', 'secondary 0', 'secondary 1', 'secondary 2']);
  });
});

describe('sync and info commands', () => {
  it('invalidate, invalidate-remote, pause-sync, resume-sync, outdate: per minor', async () => {
    for (const c of ['invalidate', 'invalidate-remote', 'pause-sync', 'resume-sync', 'outdate']) await run(c, 'r0');
    expect(daemon.requests).toEqual(['invalidate', 'invalidate-remote', 'pause-sync', 'resume-sync', 'outdate'].map((cmd) => ({ cmd, args: { minor: 0 } })));
  });

  it('verify takes --start/--stop as drbdadm 8.4 does, before the command', async () => {
    await run('--', '--start=2048', '--stop=1M', 'verify', 'r0');
    await run('verify', 'r0');
    expect(daemon.requests).toEqual([
      { cmd: 'verify', args: { minor: 0, startSector: 2048, stopSector: 2048 } },
      { cmd: 'verify', args: { minor: 0 } },
    ]);
  });

  it('new-current-uuid --clear-bitmap on one volume', async () => {
    await run('new-current-uuid', '--clear-bitmap', 'r0');
    await run('new-current-uuid', 'r1/1');
    await run('new-current-uuid', 'minor-1');
    expect(daemon.requests).toEqual([
      { cmd: 'new-current-uuid', args: { minor: 0, clearBitmap: true } },
      { cmd: 'new-current-uuid', args: { minor: 2, clearBitmap: false } },
      { cmd: 'new-current-uuid', args: { minor: 1, clearBitmap: false } },
    ]);
  });

  it('wait-connect: timeouts from the startup section, typed ones win', async () => {
    await run('wait-connect', 'r0');
    await run('wait-connect', '--wfc-timeout=3', 'r0');
    expect(daemon.requests).toEqual([
      { cmd: 'wait-connect', args: { minor: 0, wfcTimeout: 15, degrWfcTimeout: 60, outdatedWfcTimeout: 0, waitAfterSb: false } },
      { cmd: 'wait-connect', args: { minor: 0, wfcTimeout: 3, degrWfcTimeout: 60, outdatedWfcTimeout: 0, waitAfterSb: false } },
    ]);
  });

  it('role, cstate print the daemon\'s stdout as it is', async () => {
    daemon.script = (cmd) => ({ exitCode: 0, stdout: cmd === 'role' ? 'Primary/Secondary\n' : 'Connected\n' });
    expect((await run('role', 'r0')).stdout).toBe('Primary/Secondary\n');
    expect((await run('cstate', 'r1')).stdout).toBe('Connected\nConnected\n');
    expect(daemon.sequence()).toEqual(['role 0', 'cstate 1', 'cstate 2']);
  });
});

describe('adjust', () => {
  const status = (resources: NodeStatus['resources']): NodeStatus => ({ procDrbd: '', devices: [], resources });

  it('on resources udrbdd does not have: everything, as up (every resource before any minor)', async () => {
    daemon.script = (cmd) => (cmd === 'status' ? { exitCode: 0, result: status([]) } : undefined);
    await run('adjust', 'all');
    expect(daemon.sequence().filter((c) => c !== 'status')).toEqual([
      'new-resource r0', 'new-resource r1', 'new-minor 0', 'new-minor 1', 'new-minor 2',
      'attach 0', 'attach 1', 'attach 2', 'connect r0', 'connect r1',
    ]);
  });

  it('adds only what is missing: a diskless volume and the network config', async () => {
    const vol = (minor: number, disk: 'Diskless' | 'UpToDate') => ({
      volume: minor - 1, minor, disk, cs: 'StandAlone' as const, peerDisk: 'DUnknown' as const,
      userIsp: false, peerIsp: false, aftrIsp: false, sizeSectors: 0, oosSectors: 0,
    });
    const r1 = { name: 'r1', role: 'Secondary' as const, suspended: { user: false, noData: false, fencing: false }, volumes: [vol(1, 'UpToDate'), vol(2, 'Diskless')], connection: null };
    daemon.script = (cmd) => (cmd === 'status' ? { exitCode: 0, result: status([r1]) } : undefined);
    await run('adjust', 'r1');
    expect(daemon.sequence()).toEqual(['status', 'attach 2', 'connect r1']);
  });
});
