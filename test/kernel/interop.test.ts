// udrbd <-> the real DRBD 8.4.11 kernel module (issue 7). One kernel guest on a tap inside a
// network namespace the rig creates; udrbd's daemon runs inside that namespace (10.99.0.254)
// and pairs with the guest (10.99.0.1) on port 7789. Both use the same drbd.conf naming the
// two hostnames, 16 MiB disks with internal meta-data, protocol C and short timers.
//
// The guest and the udrbd node are reused across scenarios: each scenario brings both sides
// down and starts from fresh (zeroed) disks, so one failing scenario does not poison the next.
// Artifacts per scenario in test-artifacts/kernel/interop/: the kernel's /proc/drbd and dmesg
// (kernel.proc-drbd.<label>.txt, kernel.dmesg.<label>.txt), udrbd's status file and the
// daemon's messages of that scenario (udrbd.proc-drbd.<label>.txt, udrbd.log.<label>.txt).
//
// Scenarios that need resync (bitmap exchange and data movement) fail until udrbd's native
// resync is merged; they fail fast with udrbd's own log line quoted, they are never skipped.
import { copyFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backingDataMd5, deviceMd5, minorLine } from './drbd-helpers.js';
import { fileMd5, nbdPythonBin, requireTool, UdrbdNode, usableBytes } from './lib/udrbd-node.js';
import { resetArtifacts, startGuest } from './rig.js';
import { suiteSetup } from './suite.js';

const TEST = 'interop';
const DISK_MIB = 16;
const DISK_BYTES = DISK_MIB << 20;
const DATA_BYTES = usableBytes(DISK_BYTES);
const K_HOST = 'kernel';
const U_HOST = 'udrbd';
const K_IP = '10.99.0.1';
const U_IP = '10.99.0.254';
// ping-int 2 s + ping-timeout 1.5 s: the longest a dead link may go unnoticed.
const PING_INT_MS = 2_000;
const PING_TIMEOUT_MS = 1_500;

type SideName = 'kernel' | 'udrbd';

interface ConfOpts {
  net?: string;
  /** Extra net options for one side only (e.g. a different shared-secret). */
  kernelNet?: string;
  udrbdNet?: string;
}

function conf(diskPath: string, o: ConfOpts = {}, side: SideName): string {
  const net = `${o.net ?? ''} ${side === 'kernel' ? (o.kernelNet ?? '') : (o.udrbdNet ?? '')}`.trim();
  return `global { usage-count no; }
resource r0 {
  net { protocol C; ping-int 2; ping-timeout 15; connect-int 2; ${net} }
  disk { resync-rate 100M; c-plan-ahead 0; }
  on ${K_HOST} { device /dev/drbd0; disk /dev/vda; address ${K_IP}:7789; meta-disk internal; }
  on ${U_HOST} { device /dev/drbd0; disk ${diskPath}; address ${U_IP}:7789; meta-disk internal; }
}
`;
}

/** The fields of a /proc/drbd minor line: "cs:Connected" → [cs, Connected]; "C" → [proto, C]. */
function fields(line: string): Array<[string, string]> {
  const toks = line.replace(/^0:\s*/, '').split(/\s+/).filter(Boolean);
  return toks.map((t, i) => {
    const m = /^([a-z]+):(.*)$/.exec(t);
    if (m) return [m[1]!, m[2]!];
    return [i === 3 ? 'proto' : i === 4 ? 'flags' : `tok${i}`, t];
  });
}

describe('udrbd <-> DRBD 8.4.11 kernel module', () => {
  const env = suiteSetup(
    async () => {
      requireTool('nbdsh', 'libnbd-bin python3-libnbd');
      nbdPythonBin();
      resetArtifacts(TEST);
      const dir = mkdtempSync(join(tmpdir(), 'udrbd-interop-'));
      const kdisk = join(dir, 'kernel.img');
      const k = await startGuest({
        test: TEST, name: 'kernel', hostname: K_HOST, ip: `${K_IP}/24`,
        disks: [{ path: kdisk, sizeMiB: DISK_MIB }],
        net: { kind: 'tap', hostCidr: `${U_IP}/24` },
      });
      console.log(`interop: booted the kernel guest in ${k.bootMs} ms (${k.accel}), namespace ${k.netns!.name}`);
      const u = new UdrbdNode(k, dir, U_HOST);
      writeFileSync(u.diskPath, "");
      return { k, u, dir, kdisk };
    },
    async ({ k, u, dir }) => {
      await u.drbdadm(['down', 'r0']).catch(() => undefined);
      await u.stopDaemon();
      writeFileSync(join(k.artifactsDir, 'udrbd.udrbdd.log'), u.logSince(0));
      await k.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  );

  // ------------------------------------------------------------------ per-scenario plumbing

  let uMark = 0;
  const started = Date.now();
  const timings: string[] = [];

  /**
   * Kernel messages since the scenario's marker line. From dmesg, not the serial console: at
   * console loglevel 7 the emulated UART lags seconds behind the kernel's ring buffer.
   */
  let marker = '';
  const kLog = async (): Promise<string> => {
    const text = (await env().k.run('dmesg', { timeoutMs: 10_000 })).stdout;
    const at = text.lastIndexOf(marker);
    return at < 0 ? text : text.slice(at);
  };
  const uLog = (): string => env().u.logSince(uMark);

  async function scenario(label: string, fn: () => Promise<void>): Promise<void> {
    const { k, u } = env();
    const t0 = Date.now();
    marker = `udrbd-interop: scenario ${label} at ${Date.now()}`;
    await k.run(`echo "${marker}" > /dev/kmsg`, { check: true });
    uMark = u.logMark();
    try {
      await fn();
    } finally {
      timings.push(`${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      await k.snapshot(label).catch(() => undefined);
      writeFileSync(join(k.artifactsDir, `udrbd.proc-drbd.${label}.txt`), u.status());
      writeFileSync(join(k.artifactsDir, `udrbd.log.${label}.txt`), uLog() + '\n');
      writeFileSync(join(k.artifactsDir, 'timings.txt'), `${timings.join('\n')}\ntotal ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }
  }

  const kLine = async (): Promise<string> => minorLine((await env().k.run('cat /proc/drbd', { timeoutMs: 10_000 })).stdout);
  const uLine = (): string => minorLine(env().u.status());

  /**
   * Polls both sides until each minor line matches its patterns. Fails early, quoting the
   * logs, when a side ends StandAlone while something else was expected, or when udrbd logs
   * one of the `failOn` lines.
   */
  async function waitBoth(
    want: { kernel?: RegExp[]; udrbd?: RegExp[] },
    timeoutMs = 30_000,
    failOn: RegExp[] = [/but not available in this build/],
  ): Promise<{ kernel: string; udrbd: string }> {
    const deadline = Date.now() + timeoutMs;
    const expectStandAlone = (p?: RegExp[]) => (p ?? []).some((r) => r.source.includes('StandAlone'));
    let standAloneSince: number | undefined;
    for (;;) {
      const [kl, ul] = [await kLine(), uLine()];
      const ok = (line: string, p?: RegExp[]) => (p ?? []).every((r) => r.test(line));
      if (ok(kl, want.kernel) && ok(ul, want.udrbd)) return { kernel: kl, udrbd: ul };
      const why: string[] = [];
      const ulog = uLog();
      // The test stops udrbdd only at teardown; a stop here came from a signal from outside.
      const stop = ulog.split('\n').find((l) => /udrbdd stopped/.test(l));
      if (stop) why.push(`udrbdd stopped during the scenario (SIGTERM/SIGINT not sent by this test): ${stop}`);
      for (const f of failOn) {
        const hit = ulog.split('\n').find((l) => f.test(l));
        if (hit) why.push(`udrbd logged: ${hit}`);
      }
      const stuck =
        (want.kernel !== undefined && /cs:StandAlone/.test(kl) && !expectStandAlone(want.kernel)) ||
        (want.udrbd !== undefined && /cs:StandAlone/.test(ul) && !expectStandAlone(want.udrbd));
      // StandAlone is final: give the other side a moment to show its own reaction, then fail.
      if (stuck) standAloneSince ??= Date.now();
      if (standAloneSince !== undefined && Date.now() - standAloneSince > 3_000) why.push('a side went StandAlone');
      if (why.length || Date.now() > deadline) {
        throw new Error(
          `${why.length ? why.join('; ') : `timed out after ${timeoutMs} ms`}\n` +
            `wanted kernel ${(want.kernel ?? []).join(' ')}  udrbd ${(want.udrbd ?? []).join(' ')}\n` +
            `kernel: ${kl}\nudrbd:  ${ul}\n` +
            `--- kernel log (this scenario, drbd lines) ---\n${drbdLines(await kLog()).slice(-30).join('\n')}\n` +
            `--- udrbd log (this scenario, last lines) ---\n${ulog.split('\n').slice(-30).join('\n')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  const drbdLines = (text: string): string[] => text.split('\n').filter((l) => /drbd|udrbd-interop/.test(l));

  /** Waits until `re` shows up in the kernel log of this scenario. */
  async function waitKernelLog(re: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = (await kLog()).split('\n').find((l) => re.test(l));
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(`kernel did not log ${re} within ${timeoutMs} ms\n--- kernel log ---\n${drbdLines(await kLog()).slice(-30).join('\n')}\n--- udrbd log ---\n${env().u.logTail(30, uMark)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function waitUdrbdLog(re: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = uLog().split('\n').find((l) => re.test(l));
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(`udrbd did not log ${re} within ${timeoutMs} ms\n--- udrbd log ---\n${env().u.logTail(30, uMark)}\n--- kernel log ---\n${drbdLines(await kLog()).slice(-20).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  // ------------------------------------------------------------------ the two sides

  const kAdm = (cmd: string, timeoutMs = 30_000) => env().k.run(`drbdadm ${cmd}`, { timeoutMs });
  const kAdmOk = (cmd: string, timeoutMs = 30_000) => env().k.run(`drbdadm ${cmd}`, { timeoutMs, check: true });
  const uAdmOk = (cmd: string, timeoutMs = 30_000) => env().u.drbdadmOk(cmd.split(/\s+/), timeoutMs);
  const adm = (s: SideName, cmd: string) => (s === 'kernel' ? kAdmOk(cmd) : uAdmOk(cmd));
  const other = (s: SideName): SideName => (s === 'kernel' ? 'udrbd' : 'kernel');

  /** Writes random data through the Primary's device: dd oflag=direct in the guest, NBD on udrbd. */
  async function writeOn(s: SideName, offset: number, length: number, timeoutMs = 60_000): Promise<void> {
    if (s === 'kernel') {
      await env().k.run(`dd if=/dev/urandom of=/dev/drbd0 bs=4096 seek=${offset / 4096} count=${length / 4096} oflag=direct conv=notrunc 2>&1`, { check: true, timeoutMs });
    } else {
      await env().u.nbdWriteRandom(offset, length, timeoutMs);
    }
  }

  /** md5 of the data area of a side's backing disk (works on a Secondary). */
  async function dataMd5(s: SideName): Promise<string> {
    if (s === 'kernel') return backingDataMd5(env().k);
    return fileMd5(env().u.diskPath, DATA_BYTES);
  }

  /** md5 of the device of a Primary. */
  async function devMd5(s: SideName): Promise<string> {
    return s === 'kernel' ? deviceMd5(env().k) : env().u.nbdMd5();
  }

  function writeConfs(o: ConfOpts = {}): Promise<void> {
    const { k, u } = env();
    u.writeConf(conf(u.diskPath, o, 'udrbd'));
    return k.writeFile('/etc/drbd.conf', conf(u.diskPath, o, 'kernel'));
  }

  /** Both sides down, both disks zeroed (sparse, DISK_MIB), the default drbd.conf. */
  async function resetBoth(o: ConfOpts = {}): Promise<void> {
    const { k, u, kdisk } = env();
    // A scenario that failed with the cable pulled must not leave it pulled.
    await k.setLink(true);
    await Promise.all([kAdm('down r0'), u.drbdadm(['down', 'r0'])]);
    await writeConfs(o);
    for (const f of [kdisk, u.diskPath]) {
      truncateSync(f, 0);
      truncateSync(f, DISK_BYTES);
    }
    await k.run('echo 3 > /proc/sys/vm/drop_caches; blockdev --flushbufs /dev/vda', { check: true });
  }

  async function createMdBoth(): Promise<void> {
    const [kr, ur] = await Promise.all([kAdmOk('create-md r0'), uAdmOk('create-md r0')]);
    expect(kr.stdout + kr.stderr).toContain('New drbd meta data block successfully created.');
    expect(ur.stdout + ur.stderr).toContain('New drbd meta data block successfully created.');
  }

  const upBoth = () => Promise.all([kAdmOk('up r0'), uAdmOk('up r0')]);

  const CONNECTED_SS_II = [/cs:Connected/, /ro:Secondary\/Secondary/, /ds:Inconsistent\/Inconsistent/];
  const CONNECTED_SS_UU = [/cs:Connected/, /ro:Secondary\/Secondary/, /ds:UpToDate\/UpToDate/];

  /**
   * A pair holding the same UpToDate generation without any resync: one side makes a
   * generation alone (create-md, up, primary --force, data, secondary, down), its whole
   * backing disk is copied to the other side, both come up and connect UpToDate/UpToDate.
   * This is also scenario 7 (meta-data written by one implementation, attached by the other).
   */
  async function establishUpToDatePair(maker: SideName): Promise<{ kernel: string; udrbd: string }> {
    const { k, u, kdisk } = env();
    await resetBoth();
    await adm(maker, 'create-md r0');
    await adm(maker, 'up r0');
    await adm(maker, 'primary --force r0');
    await writeOn(maker, 1 << 20, 2 << 20);
    await adm(maker, 'secondary r0');
    await adm(maker, 'down r0');
    if (maker === 'kernel') {
      await k.run('sync', { check: true });
      copyFileSync(kdisk, u.diskPath);
    } else {
      copyFileSync(u.diskPath, kdisk);
      await k.run('echo 3 > /proc/sys/vm/drop_caches; blockdev --flushbufs /dev/vda', { check: true });
    }
    await upBoth();
    return waitBoth({ kernel: CONNECTED_SS_UU, udrbd: CONNECTED_SS_UU }, 30_000);
  }

  /**
   * A pair on one generation with an empty bitmap and a zero bitmap UUID, as two kernels are
   * after their initial sync: only then does a Primary that loses its peer (or is promoted
   * while disconnected) start a new generation, which the link-cut and split-brain scenarios
   * need. Made without resync: on a fresh connected pair the kernel skips the initial sync
   * (new-current-uuid --clear-bitmap: UUIDs X:0, bitmap clear, UpToDate), then its whole disk
   * is copied to udrbd's backing file and both come up again.
   */
  async function establishCleanPair(o: ConfOpts = {}): Promise<{ kernel: string; udrbd: string }> {
    const { k, u, kdisk } = env();
    await resetBoth(o);
    await createMdBoth();
    await upBoth();
    await waitBoth({ kernel: CONNECTED_SS_II, udrbd: CONNECTED_SS_II });
    await kAdmOk('new-current-uuid --clear-bitmap r0');
    await waitBoth({ kernel: [/ds:UpToDate\//] }, 15_000, []);
    await Promise.all([kAdmOk('down r0'), uAdmOk('down r0')]);
    await k.run('sync', { check: true });
    copyFileSync(kdisk, u.diskPath);
    await upBoth();
    const lines = await waitBoth({ kernel: CONNECTED_SS_UU, udrbd: CONNECTED_SS_UU }, 30_000);
    expect(lines.kernel).toMatch(/oos:0\b/);
    expect(lines.udrbd).toMatch(/oos:0\b/);
    return lines;
  }

  // ------------------------------------------------------------------ 1. connect

  it('1. create-md and up on both: Connected Secondary/Secondary Inconsistent/Inconsistent, same /proc/drbd fields', async () => {
    await scenario('1-connect', async () => {
      await resetBoth();
      await createMdBoth();
      await upBoth();
      const lines = await waitBoth({ kernel: CONNECTED_SS_II, udrbd: CONNECTED_SS_II });
      const kf = fields(lines.kernel);
      const uf = fields(lines.udrbd);
      // Same fields in the same order; the state words and the out-of-sync amount agree too.
      expect(uf.map(([n]) => n)).toEqual(kf.map(([n]) => n));
      const pick = (f: Array<[string, string]>) => Object.fromEntries(f.filter(([n]) => ['cs', 'ro', 'ds', 'proto', 'flags', 'oos'].includes(n)));
      expect(pick(uf)).toEqual(pick(kf));
      expect(Number(pick(kf).oos) * 1024).toBe(DATA_BYTES);
      const kver = (await env().k.run('head -1 /proc/drbd')).stdout.trim();
      // Same api/proto range; the release differs on purpose (udrbd reports 8.4.7-1, spec/proc-drbd.md).
      const rel = (v: string) => v.replace(/^version: \S+ /, 'version: REL ');
      expect(rel(env().u.status().split('\n')[0] ?? '')).toBe(rel(kver));
      // The kernel agreed on protocol 101 with udrbd (min 100 / max 101, no feature flags).
      expect(await kLog()).toContain('Handshake successful: Agreed network protocol version 101');
      // Both sides ran the UUID handshake on two just-created generations: rule 10, no sync.
      expect(await kLog()).toMatch(/uuid_compare\(\)=0 by rule 10/);
      expect(uLog()).toMatch(/uuid_compare\(\)=0 by rule 10/);
    });
  });

  // ------------------------------------------------------------------ 2. cram-hmac

  it('2a. cram-hmac-alg sha1 with the same shared-secret connects', async () => {
    await scenario('2a-auth-ok', async () => {
      await Promise.all([kAdm('down r0'), env().u.drbdadm(['down', 'r0'])]);
      await writeConfs({ net: 'cram-hmac-alg sha1; shared-secret "interop-secret";' });
      await upBoth();
      await waitBoth({ kernel: [/cs:Connected/], udrbd: [/cs:Connected/] });
      expect(await kLog()).toMatch(/Peer authenticated using 20 bytes HMAC/);
      expect(uLog()).toMatch(/Peer authenticated using 20 bytes HMAC/);
    });
  });

  it('2b. a wrong shared-secret: the kernel fails authentication, neither side connects, udrbd says why', async () => {
    await scenario('2b-auth-wrong', async () => {
      await Promise.all([kAdm('down r0'), env().u.drbdadm(['down', 'r0'])]);
      await writeConfs({ net: 'cram-hmac-alg sha1;', kernelNet: 'shared-secret "kernel-secret";', udrbdNet: 'shared-secret "udrbd-secret";' });
      await upBoth();
      const kHit = await waitKernelLog(/Authentication of peer failed/);
      expect(kHit).toBeTruthy();
      const uHit = await waitUdrbdLog(/Authentication of peer failed/);
      expect(uHit).toBeTruthy();
      // The kernel discards its network configuration; neither side ever reaches Connected.
      await waitBoth({ kernel: [/cs:StandAlone/] }, 15_000, []);
      for (let i = 0; i < 4; i++) {
        expect(await kLine()).not.toMatch(/cs:Connected/);
        expect(uLine()).not.toMatch(/cs:Connected|cs:WFReportParams/);
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(await kLog()).not.toMatch(/conn\( \w+ -> Connected \)/);
    });
  });

  // ------------------------------------------------------------------ 7 + 4: no-sync pair, replication

  for (const maker of ['kernel', 'udrbd'] as const) {
    it(`7. meta-data made by ${maker}'s create-md (disk copied) is attached by ${other(maker)}: Connected UpToDate/UpToDate, no sync`, async () => {
      await scenario(`7-meta-from-${maker}`, async () => {
        const lines = await establishUpToDatePair(maker);
        // The bitmap of the foreign meta-data is read as it is: the same out-of-sync amount.
        const oos = (l: string) => /oos:(\d+)/.exec(l)?.[1];
        expect(oos(lines.udrbd)).toBe(oos(lines.kernel));
        const k = await kLog();
        expect(k).toMatch(/uuid_compare\(\)=0 by rule 40/);
        expect(uLog()).toMatch(/uuid_compare\(\)=0 by rule 40/);
        expect(k).not.toMatch(/SyncSource|SyncTarget|WFBitMap/);
        expect(await dataMd5('udrbd')).toBe(await dataMd5('kernel'));
      });
    });
  }

  it('4. protocol C: udrbd Primary writes reach the kernel, role switch, kernel Primary writes reach udrbd', async () => {
    await scenario('4-replication', async () => {
      // Continues from the UpToDate pair of scenario 7 when that passed; otherwise make one.
      if (!/cs:Connected.*ds:UpToDate\/UpToDate/.test(uLine())) await establishCleanPair();
      await uAdmOk('primary r0');
      await waitBoth({ kernel: [/cs:Connected/, /ro:Secondary\/Primary/], udrbd: [/ro:Primary\/Secondary/] });
      await writeOn('udrbd', 4 << 20, 3 << 20);
      await writeOn('udrbd', 12 << 20, 8192);
      const u1 = await devMd5('udrbd');
      expect(await dataMd5('kernel')).toBe(u1);
      expect(await dataMd5('udrbd')).toBe(u1);
      const ulines = uLine();
      expect(ulines).toMatch(/ns:3080\b/);

      await uAdmOk('secondary r0');
      await kAdmOk('primary r0');
      await waitBoth({ kernel: [/ro:Primary\/Secondary/, /ds:UpToDate\/UpToDate/], udrbd: [/cs:Connected/, /ro:Secondary\/Primary/] });
      await writeOn('kernel', 8 << 20, 2 << 20);
      const k1 = await devMd5('kernel');
      expect(k1).not.toBe(u1);
      expect(await dataMd5('udrbd')).toBe(k1);
      expect(uLine()).toMatch(/nr:2048\b/);
      await kAdmOk('secondary r0');
      await waitBoth({ kernel: CONNECTED_SS_UU, udrbd: CONNECTED_SS_UU });
    });
  });

  // ------------------------------------------------------------------ 5. link cut

  for (const primary of ['kernel', 'udrbd'] as const) {
    it(`5. link cut while the ${primary} Primary writes: both notice, reconnect, bitmap resync of the changed blocks`, async () => {
      await scenario(`5-link-cut-${primary}-primary`, async () => {
        const { k } = env();
        const secondary = other(primary);
        await establishCleanPair();
        await adm(primary, 'primary r0');
        await waitBoth({ [primary]: [/ro:Primary\/Secondary/], [secondary]: [/ro:Secondary\/Primary/] });
        const cut = Date.now();
        await k.setLink(false);
        // A protocol C write blocks until the loss is noticed, then completes locally.
        const writing = writeOn(primary, 5 << 20, 100 * 4096, 60_000);
        let uLost = 0;
        for (;;) {
          if (!/cs:Connected/.test(uLine())) {
            uLost = Date.now() - cut;
            break;
          }
          if (Date.now() - cut > 20_000) throw new Error(`udrbd did not notice the pulled cable in 20 s: ${uLine()}\n${env().u.logTail(20, uMark)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        await writing;
        const lost = await waitBoth(
          { kernel: [/cs:WFConnection/, /ds:UpToDate\/DUnknown/], udrbd: [/cs:(WFConnection|Unconnected)/, /ds:UpToDate\/DUnknown/] },
          30_000,
        );
        expect(await kLog()).toMatch(/conn\( Connected -> (NetworkFailure|Timeout|BrokenPipe) \)/);
        console.log(`interop: udrbd noticed the pulled cable after ${uLost} ms (${primary} Primary)`);
        // Idle meta socket: a ping after ping-int, then ping-timeout for the ack (+ polling slack).
        expect(uLost).toBeLessThanOrEqual(PING_INT_MS + PING_TIMEOUT_MS + 1_000);
        // 100 blocks of 4 KiB written while apart: the Primary's bitmap holds exactly those.
        expect(lost[primary]).toMatch(/oos:400\b/);

        await k.setLink(true);
        // Primary = SyncSource by rule 70 (its bitmap UUID is the peer's current), the other
        // side SyncTarget by rule 50: the same rules two kernels log (link-failure-05). Both
        // handshakes are logged before either side starts to move data.
        const decided = /uuid_compare\(\)=-?[1-9]\d* by rule \d+/;
        const rule = (s: SideName) => (s === primary ? /uuid_compare\(\)=1 by rule 70/ : /uuid_compare\(\)=-1 by rule 50/);
        const role = (s: SideName) => (s === primary ? 'Primary' : 'Secondary');
        expect(await waitUdrbdLog(decided, 30_000), `udrbd (${role('udrbd')}) handshake`).toMatch(rule('udrbd'));
        expect(await waitKernelLog(decided, 10_000), `kernel (${role('kernel')}) handshake`).toMatch(rule('kernel'));
        await waitBoth(
          { [primary]: [/cs:(SyncSource|Connected)/], [secondary]: [/cs:(SyncTarget|Connected)/] },
          30_000,
        );
        const done = await waitBoth(
          { [primary]: [/cs:Connected/, /ds:UpToDate\/UpToDate/], [secondary]: [/cs:Connected/, /ds:UpToDate\/UpToDate/] },
          45_000,
        );
        expect(done[primary]).toMatch(/oos:0\b/);
        expect(done[secondary]).toMatch(/oos:0\b/);
        // Only the changed blocks moved: 400 KiB resynced, not the whole device.
        expect(uLog() + (await kLog())).not.toMatch(/by rule (20|30)\b/);
        const pMd5 = await devMd5(primary);
        expect(await dataMd5(secondary)).toBe(pMd5);
        await adm(primary, 'secondary r0');
      });
    });
  }

  // ------------------------------------------------------------------ 6. split brain

  /** Disconnect, both Primary, writes on both: a split brain waiting for the reconnect. */
  async function makeSplitBrain(opts: { writeOn: SideName[]; secondaryAfter: SideName[]; conf?: ConfOpts }): Promise<void> {
    await establishCleanPair(opts.conf);
    await Promise.all([kAdmOk('disconnect r0'), uAdmOk('disconnect r0')]);
    await waitBoth({ kernel: [/cs:StandAlone/], udrbd: [/cs:StandAlone/] }, 15_000);
    await Promise.all([kAdmOk('primary r0'), uAdmOk('primary r0')]);
    if (opts.writeOn.includes('kernel')) await writeOn('kernel', 0, 64 * 4096);
    if (opts.writeOn.includes('udrbd')) await writeOn('udrbd', 4 << 20, 32 * 4096);
    for (const s of opts.secondaryAfter) await adm(s, 'secondary r0');
  }

  for (const victim of ['udrbd', 'kernel'] as const) {
    it(`6. split brain (both Primary, writes on both): both detect it, unresolved, both StandAlone; manual recovery, ${victim} discards its data`, async () => {
      await scenario(`6-split-brain-victim-${victim}`, async () => {
        const survivor = other(victim);
        await makeSplitBrain({ writeOn: ['kernel', 'udrbd'], secondaryAfter: [] });
        await Promise.all([kAdmOk('connect r0'), uAdmOk('connect r0')]);
        await waitUdrbdLog(/Split-Brain detected but unresolved, dropping connection!/);
        await waitKernelLog(/Split-Brain detected but unresolved, dropping connection!/, 10_000);
        expect(await kLog()).toMatch(/uuid_compare\(\)=100 by rule 90/);
        expect(uLog()).toMatch(/uuid_compare\(\)=100 by rule 90/);
        await waitBoth({ kernel: [/cs:StandAlone/, /ro:Primary\/Unknown/], udrbd: [/cs:StandAlone/, /ro:Primary\/Unknown/] }, 15_000, []);

        // Manual recovery (split-brain-06): the victim drops its changes, the survivor syncs them over.
        await adm(victim, 'secondary r0');
        await adm(victim, 'connect --discard-my-data r0');
        await adm(survivor, 'connect r0');
        await waitBoth(
          { [survivor]: [/cs:(SyncSource|Connected)/], [victim]: [/cs:(SyncTarget|Connected)/] },
          30_000,
        );
        await waitBoth(
          { [survivor]: [/cs:Connected/, /ro:Primary\/Secondary/, /ds:UpToDate\/UpToDate/], [victim]: [/cs:Connected/, /ro:Secondary\/Primary/, /ds:UpToDate\/UpToDate/] },
          45_000,
        );
        expect(await dataMd5(victim)).toBe(await devMd5(survivor));
        await adm(survivor, 'secondary r0');
      });
    });
  }

  it('6. after-sb-0pri discard-zero-changes: the side without changes (udrbd) becomes SyncTarget', async () => {
    await scenario('6-after-sb-0pri', async () => {
      await makeSplitBrain({ conf: { net: 'after-sb-0pri discard-zero-changes;' }, writeOn: ['kernel'], secondaryAfter: ['kernel', 'udrbd'] });
      await Promise.all([kAdmOk('connect r0'), uAdmOk('connect r0')]);
      await waitUdrbdLog(/Split-Brain detected, 0 primaries, automatically solved. Sync from peer node/);
      await waitKernelLog(/Split-Brain detected, 0 primaries, automatically solved. Sync from this node/, 10_000);
      await waitBoth({ kernel: CONNECTED_SS_UU, udrbd: CONNECTED_SS_UU }, 45_000);
      expect(await dataMd5('udrbd')).toBe(await dataMd5('kernel'));
    });
  });

  it('6. after-sb-1pri discard-secondary: the Secondary (kernel) becomes SyncTarget of the udrbd Primary', async () => {
    await scenario('6-after-sb-1pri', async () => {
      await makeSplitBrain({ conf: { net: 'after-sb-1pri discard-secondary;' }, writeOn: ['kernel', 'udrbd'], secondaryAfter: ['kernel'] });
      await Promise.all([kAdmOk('connect r0'), uAdmOk('connect r0')]);
      await waitUdrbdLog(/Split-Brain detected, 1 primaries, automatically solved. Sync from this node/);
      await waitKernelLog(/Split-Brain detected, 1 primaries, automatically solved. Sync from peer node/, 10_000);
      await waitBoth(
        { kernel: [/cs:Connected/, /ro:Secondary\/Primary/, /ds:UpToDate\/UpToDate/], udrbd: [/cs:Connected/, /ro:Primary\/Secondary/, /ds:UpToDate\/UpToDate/] },
        45_000,
      );
      expect(await dataMd5('kernel')).toBe(await devMd5('udrbd'));
      await uAdmOk('secondary r0');
    });
  });

  // ------------------------------------------------------------------ 3. full sync

  for (const source of ['kernel', 'udrbd'] as const) {
    it(`3. primary --force on ${source}: full sync to ${other(source)}, both UpToDate, data checksums equal`, async () => {
      await scenario(`3-full-sync-from-${source}`, async () => {
        const target = other(source);
        await resetBoth();
        await createMdBoth();
        await upBoth();
        await waitBoth({ kernel: CONNECTED_SS_II, udrbd: CONNECTED_SS_II });
        await adm(source, 'primary --force r0');
        // The kernel starts its part within a second or two (WFBitMapT/S); 15 s is ample.
        await waitBoth({ [source]: [/cs:(SyncSource|Connected)/, /ro:Primary\/Secondary/], [target]: [/cs:(SyncTarget|Connected)/] }, 15_000);
        await waitBoth(
          { [source]: [/cs:Connected/, /ro:Primary\/Secondary/, /ds:UpToDate\/UpToDate/], [target]: [/cs:Connected/, /ro:Secondary\/Primary/, /ds:UpToDate\/UpToDate/] },
          60_000,
        );
        // Full sync: the just-created generation on the target (rule 20 / 30).
        expect(source === 'kernel' ? await kLog() : uLog()).toMatch(/uuid_compare\(\)=2 by rule 30/);
        expect(target === 'kernel' ? await kLog() : uLog()).toMatch(/uuid_compare\(\)=-2 by rule 20/);
        expect(await dataMd5(target)).toBe(await devMd5(source));
        expect(await dataMd5(target)).toBe(await dataMd5(source));
        await adm(source, 'secondary r0');
      });
    });
  }

  // ------------------------------------------------------------------ 4'. skipping the initial sync

  it('4. new-current-uuid --clear-bitmap on the kernel (fresh pair): udrbd takes the skip-initial-sync generation, both UpToDate, no sync', async () => {
    await scenario('4-clear-bitmap-kernel', async () => {
      await resetBoth();
      await createMdBoth();
      await upBoth();
      await waitBoth({ kernel: CONNECTED_SS_II, udrbd: CONNECTED_SS_II });
      await kAdmOk('new-current-uuid --clear-bitmap r0');
      await waitBoth({ kernel: CONNECTED_SS_UU, udrbd: CONNECTED_SS_UU }, 10_000);
      expect(await kLog()).not.toMatch(/SyncSource|SyncTarget/);
    });
  });

});
