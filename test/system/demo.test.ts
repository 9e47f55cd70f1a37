// `udrbd demo`, the README's first command, run to the end as a newcomer runs it: as root
// (/dev/drbdN, mkfs.ext4, mount) and with UDRBD_DEVICE_NODES=off (the NBD sockets only); and
// interrupted with Ctrl-C, after which nothing may be left behind. Needs root; fails (never
// skips) without it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, ensureBuilt } from '../support/node-env.js';

interface DemoRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

/** Runs `node bin/udrbd demo`; `interruptWhen` sends SIGINT once the output matches it. */
function runDemo(env: NodeJS.ProcessEnv = {}, interruptWhen?: RegExp): Promise<DemoRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN('udrbd'), 'demo'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let sent = false;
    const onData = (d: Buffer) => {
      out += d.toString();
      if (interruptWhen && !sent && interruptWhen.test(out)) {
        sent = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code, signal) => resolve({ code, signal, out }));
  });
}

/** The demo's directory and devices, as it announced them: all must be gone afterwards. */
function leftovers(out: string): string[] {
  const dir = /all in (\/\S+?udrbd-demo-\w+)\./.exec(out)?.[1];
  const devices = [...out.matchAll(/(?:alpha|beta)'s (?:device )?is\s+(\/dev\/drbd\d+)/g)].map((m) => m[1]!);
  expect(dir, 'the demo names its directory').toBeDefined();
  expect(devices.length, 'the demo names both devices').toBe(2);
  return [dir!, ...devices].filter((p) => existsSync(p));
}

const failureReport = (r: DemoRun) => `exit ${r.code} (${r.signal ?? 'no signal'}); output:\n${r.out}`;

describe('udrbd demo', () => {
  beforeAll(() => {
    if (process.geteuid?.() !== 0) throw new Error('test/system/demo.test.ts needs root (/dev/drbdN, mkfs.ext4, mount); run the suite as root');
    ensureBuilt();
  });

  it('walks the seed setup end to end as root: sync, mkfs and mount, role switch, failover', async () => {
    const r = await runDemo();
    expect(r.code, failureReport(r)).toBe(0);
    const o = r.out;
    expect(o).toContain('alpha# drbdadm create-md r0');
    expect(o).toContain('New drbd meta data block successfully created.');
    expect(o).toMatch(/beta# drbdadm up r0/);
    expect(o).toMatch(/ \d+: cs:Connected ro:Secondary\/Secondary ds:Inconsistent\/Inconsistent C r-----/);
    expect(o).toContain('alpha# drbdadm primary --force r0');
    expect(o).toMatch(/\[ok {2}\] initial sync of 256 MiB finished in [\d.]+ s/);
    expect(o).toMatch(/ \d+: cs:Connected ro:Primary\/Secondary ds:UpToDate\/UpToDate C r-----/);
    expect(o).toMatch(/ \d+: cs:Connected ro:Secondary\/Primary ds:UpToDate\/UpToDate C r-----/);
    // The filesystem path: mkfs.ext4's own output, files checked on the other node.
    expect(o).toMatch(/alpha# mkfs\.ext4 \/dev\/drbd\d+/);
    // (mkfs draws its progress with backspaces when its output is not a terminal)
    expect(o).toMatch(/Writing superblocks and filesystem accounting information:.*done/);
    expect(o).toContain('readme.txt: OK');
    expect(o).toContain('My first cluster');
    // The pulled plug: the survivor notices, takes over, and has beta's last write.
    expect(o).toContain('beta# kill -9 $(cat $UDRBD_RUN_DIR/udrbdd.pid)');
    expect(o).toMatch(/ \d+: cs:WFConnection ro:Secondary\/Unknown ds:UpToDate\/DUnknown C r-----/);
    expect(o).toMatch(/ \d+: cs:WFConnection ro:Primary\/Unknown ds:UpToDate\/DUnknown C r-----/);
    expect(o).toContain('beta.txt: OK');
    expect(o).toContain("[ok  ] the survivor's device and the dead node's disk are identical");
    expect(o).toMatch(/alpha# drbdadm down r0/);
    expect(o).not.toContain('FAIL');
    expect(o).toMatch(/All \d+ checks passed in \d+ s\./);
    expect(o).toContain('npm test');
    expect(leftovers(o)).toEqual([]);
  });

  it('with UDRBD_DEVICE_NODES=off works through the NBD sockets only, and says so', async () => {
    const r = await runDemo({ UDRBD_DEVICE_NODES: 'off' });
    expect(r.code, failureReport(r)).toBe(0);
    const o = r.out;
    expect(o).toContain('NBD only: UDRBD_DEVICE_NODES=off');
    expect(o).not.toContain('mkfs.ext4 /dev/');
    expect(o).toMatch(/\[ok {2}\] initial sync of 256 MiB finished/);
    expect(o).toContain('[ok  ] alpha reads back what it wrote');
    expect(o).toContain('[ok  ] beta reads exactly the data alpha wrote (NBD)');
    expect(o).toContain('[ok  ] the data beta wrote before it died are on the survivor');
    expect(o).toContain("[ok  ] the survivor's device and the dead node's disk are identical");
    expect(o).not.toContain('FAIL');
    expect(o).toMatch(/All \d+ checks passed/);
    expect(leftovers(o)).toEqual([]);
  });

  it('Ctrl-C stops it and takes everything down again (exit code 130)', async () => {
    const r = await runDemo({}, /alpha# drbdadm primary --force r0/);
    expect(r.code, failureReport(r)).toBe(130);
    expect(r.out).toContain('SIGINT: stopping the demo; cleaning up...');
    expect(r.out).toMatch(/alpha# drbdadm down r0/);
    expect(r.out).toMatch(/\[ok {2}\] nothing left behind/);
    expect(leftovers(r.out)).toEqual([]);
  });
});
