// Status from a scripted NodeStatus: `drbdadm status` (only the resources asked for, as
// drbdsetup-84 prints them), and `udrbd status` as /proc/drbd text, JSON, and --watch frames.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlDouble } from './control-double.js';
import { conf, HOST } from './fixture.js';
import { drbdadm, testDeps, tmpRunDir } from './helpers.js';
import { main as udrbd, type UdrbdDeps } from '../../../src/cli/udrbd.js';
import type { NodeStatus } from '../../../src/daemon/commands.js';
import { renderProcDrbd, statusJson, UDRBD_PROC_HEADER, type DrbdadmStatusResource } from '../../../src/status/index.js';
import { device, sync } from '../status/fixtures.js';

// r0 as in the 8.4 capture (cli-errors-01: Connected, Secondary/Secondary, Inconsistent/Inconsistent);
// r1 resyncing as SyncSource.
const r0: DrbdadmStatusResource = {
  name: 'r0',
  role: 'Secondary',
  suspended: { user: false, noData: false, fencing: false },
  volumes: [{ volume: 0, minor: 0, disk: 'Inconsistent', cs: 'Connected', peerDisk: 'Inconsistent', userIsp: false, peerIsp: false, aftrIsp: false, sizeSectors: 131000, oosSectors: 131000 }],
  connection: { cs: 'Connected', peerRole: 'Secondary', congested: false },
};
const r1: DrbdadmStatusResource = { ...r0, name: 'r1', role: 'Primary', volumes: [{ ...r0.volumes[0], minor: 1, disk: 'UpToDate', cs: 'SyncSource', oosSectors: 65500 }] };

const dev0 = device({ minor: 0, ds: 'Inconsistent', pds: 'Inconsistent', counters: { oos: 65500 } });
const dev1 = device({ minor: 1, cs: 'SyncSource', ro: 'Primary', pds: 'Inconsistent', sync: sync({ totalBits: 16375, leftBits: 8000, sinceStartS: 30, markAgeS: 18, markLeft: 10000 }) });
const STATUS: NodeStatus = {
  procDrbd: renderProcDrbd({ header: UDRBD_PROC_HEADER, devices: [dev0, dev1] }),
  devices: [
    { resource: 'r0', volume: 0, device: dev0 },
    { resource: 'r1', volume: 0, device: dev1 },
  ],
  resources: [r1, r0],
};

let daemon: ControlDouble;
let dir: string;

beforeEach(async () => {
  dir = tmpRunDir();
  daemon = await new ControlDouble(dir).start();
  daemon.script = (cmd) => (cmd === 'status' ? { exitCode: 0, result: STATUS } : undefined);
});
afterEach(() => daemon.stop());

const R0_TEXT = 'r0 role:Secondary\n  disk:Inconsistent\n  peer role:Secondary\n    replication:Established peer-disk:Inconsistent\n\n';

describe('drbdadm status', () => {
  it('RES: only that resource, the text of the 8.4 capture', async () => {
    const r = await drbdadm(HOST, ['-c', conf(), 'status', 'r0'], testDeps(dir));
    expect(r).toEqual({ stdout: R0_TEXT, stderr: '', code: 0 });
    expect(daemon.sequence()).toEqual(['status']);
  });

  it('no name and all: every resource of the config, in config order', async () => {
    const file = conf();
    const all = await drbdadm(HOST, ['-c', file, 'status'], testDeps(dir));
    expect(all.code).toBe(0);
    expect(all.stdout.startsWith(R0_TEXT)).toBe(true);
    expect(all.stdout.slice(R0_TEXT.length)).toMatch(/^r1 role:Primary\n {2}disk:UpToDate\n {2}peer role:Secondary\n {4}replication:SyncSource peer-disk:Inconsistent done:50\.00\n\n$/);
    expect((await drbdadm(HOST, ['-c', file, 'status', 'all'], testDeps(dir))).stdout).toBe(all.stdout);
  });

  it('a resource udrbdd does not run: drbdsetup\'s "No such resource", exit 10', async () => {
    daemon.script = () => ({ exitCode: 0, result: { ...STATUS, resources: [r0] } });
    const r = await drbdadm(HOST, ['-c', conf(), 'status', 'r1', 'r0'], testDeps(dir));
    expect(r).toEqual({ stdout: R0_TEXT, stderr: "r1: No such resource\nCommand 'drbdsetup status r1' terminated with exit code 10\n", code: 10 });
  });
});

/** udrbd's outside world for a test: output captured, a terminal or not, Ctrl-C on demand. */
function udrbdDeps(tty: boolean) {
  let out = '';
  let err = '';
  let interrupt!: () => void;
  const interrupted = new Promise<void>((r) => (interrupt = r));
  const deps: UdrbdDeps = {
    runDir: dir,
    out: { write: (s: string) => (out += s), isTTY: tty, columns: 60 },
    err: { write: (s: string) => (err += s) },
    interrupted: () => interrupted,
    watchIntervalMs: 20,
  };
  return { deps, interrupt, out: () => out, err: () => err };
}

describe('udrbd status', () => {
  it('prints the /proc/drbd text', async () => {
    const u = udrbdDeps(false);
    expect(await udrbd(['status'], u.deps)).toBe(0);
    expect(u.out()).toBe(STATUS.procDrbd);
  });

  it('--json: the versioned JSON shape of the devices', async () => {
    const u = udrbdDeps(false);
    expect(await udrbd(['status', '--json'], u.deps)).toBe(0);
    expect(JSON.parse(u.out())).toEqual(JSON.parse(JSON.stringify(statusJson(STATUS.devices))));
    expect(u.out().endsWith('}\n')).toBe(true);
  });

  it('--watch without a terminal: one plain frame, no escape sequences', async () => {
    const u = udrbdDeps(false);
    expect(await udrbd(['status', '--watch'], u.deps)).toBe(0);
    expect(u.out().startsWith(STATUS.procDrbd)).toBe(true);
    expect(u.out()).toContain('drbd1 r1 SyncSource [');
    expect(u.out()).not.toContain('\x1b');
    expect(daemon.sequence()).toEqual(['status']);
  });

  it('--watch on a terminal: alternate screen and hidden cursor, a frame per tick, all undone on Ctrl-C', async () => {
    const u = udrbdDeps(true);
    const done = udrbd(['status', '--watch'], u.deps);
    const frameCount = () => u.out().split('\x1b[H\x1b[2J').length - 1;
    while (frameCount() < 3) await new Promise((r) => setTimeout(r, 5));
    u.interrupt();
    expect(await done).toBe(0);
    const text = u.out();
    expect(text.startsWith('\x1b[?1049h\x1b[?25l')).toBe(true);
    expect(text.endsWith('\x1b[?25h\x1b[?1049l')).toBe(true);
    const frames = text.split('\x1b[H\x1b[2J').slice(1);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    expect(frames[0]).toContain(STATUS.procDrbd.split('\n')[2]);
    const requestsAtStop = daemon.requests.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(daemon.requests.length).toBe(requestsAtStop);
  });

  it('no daemon: says so, exit 3', async () => {
    await daemon.stop();
    const u = udrbdDeps(false);
    expect(await udrbd(['status'], u.deps)).toBe(3);
    expect(u.err()).toMatch(/^udrbd: udrbdd is not running \(no .*control\.sock\)\n$/);
  });

  it('usage: --help lists status, daemon and demo; unknown commands and arguments are usage errors', async () => {
    const u = udrbdDeps(false);
    expect(await udrbd(['--help'], u.deps)).toBe(0);
    expect(u.out()).toMatch(/^Usage: udrbd COMMAND/);
    expect(u.out()).toContain('udrbd status [--json] [--watch]');
    expect(u.out()).toContain('udrbd daemon');
    expect(u.out()).toContain('udrbd demo');
    expect(await udrbd(['demo', '--bogus'], u.deps)).toBe(1);
    expect(u.err()).toContain("udrbd demo: unknown argument '--bogus'");
    expect(await udrbd(['frobnicate'], u.deps)).toBe(1);
    expect(u.err()).toContain("udrbd: unknown command 'frobnicate'");
    expect(await udrbd(['status', '--bogus'], u.deps)).toBe(1);
    expect(await udrbd([], u.deps)).toBe(1);
    expect(u.err()).toContain('Usage: udrbd COMMAND');
  });
});
