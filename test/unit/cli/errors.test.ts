// drbdadm's error paths: the child's output verbatim, the `Command '...' terminated with exit
// code N` line for N ≥ 10 only, the exit codes (spec/states.md §4), what stops and what goes
// on, unknown resources, bad options, and a daemon that is not running (captured 8.4 texts in
// spec/kernel-captures/cli-errors-01-outputs.txt, with drbdsetup named as 8.4's utils name it).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlDouble } from './control-double.js';
import { conf, HOST } from './fixture.js';
import { drbdadm, testDeps, tmpRunDir } from './helpers.js';
import type { OfflineMetaTool } from '../../../src/cli/commands/offline-meta.js';

let daemon: ControlDouble;
let deps: ReturnType<typeof testDeps>;
let file: string;

beforeEach(async () => {
  const dir = tmpRunDir();
  daemon = new ControlDouble(dir);
  await daemon.start();
  deps = testDeps(dir);
  file = conf();
});
afterEach(() => daemon.stop());

const run = (...args: string[]) => drbdadm(HOST, ['-c', file, ...args], deps);

const NO_UPTODATE = '0: State change failed: (-2) Need access to UpToDate data\n';

describe('a failing low-level call', () => {
  it('17: daemon text, then the wrapper line; drbdadm exits 17', async () => {
    daemon.failOn('primary', { exitCode: 17, stderr: NO_UPTODATE });
    expect(await run('primary', 'r0')).toEqual({
      stdout: '',
      stderr: `${NO_UPTODATE}Command 'drbdsetup primary 0' terminated with exit code 17\n`,
      code: 17,
    });
  });

  it('the wrapper line carries the options drbdadm passed (setup option spelled as typed)', async () => {
    daemon.failOn('primary', { exitCode: 17, stderr: NO_UPTODATE });
    const r = await run('--', '--overwrite-data-of-peer', 'primary', 'r0');
    expect(r.stderr).toBe(`${NO_UPTODATE}Command 'drbdsetup primary 0 --overwrite-data-of-peer' terminated with exit code 17\n`);
    daemon.failOn('connect', { exitCode: 10, stderr: 'r0: Failure: (102) Local address(port) already in use.\n' });
    expect((await run('connect', 'r0')).stderr).toBe(
      "r0: Failure: (102) Local address(port) already in use.\nCommand 'drbdsetup connect r0 ipv4:127.0.0.1:7788 ipv4:127.0.0.2:7788 --protocol=C --cram-hmac-alg=sha1 --shared-secret=s3cr3t' terminated with exit code 10\n",
    );
  });

  it('a daemon text without its final newline still ends its line before the wrapper line', async () => {
    daemon.failOn('primary', { exitCode: 17, stderr: NO_UPTODATE.trimEnd() });
    expect((await run('primary', 'r0')).stderr).toBe(`${NO_UPTODATE}Command 'drbdsetup primary 0' terminated with exit code 17\n`);
  });

  it('11: wrapper line, exit 11', async () => {
    const held = '0: State change failed: (-12) Device is held open by someone\n';
    daemon.failOn('secondary', { exitCode: 11, stderr: held });
    expect(await run('secondary', 'r0')).toEqual({ stdout: '', stderr: `${held}Command 'drbdsetup secondary 0' terminated with exit code 11\n`, code: 11 });
  });

  it('5: the text only, no wrapper line, exit 5', async () => {
    daemon.failOn('wait-connect', { exitCode: 5 });
    expect(await run('wait-connect', 'r0')).toEqual({ stdout: '', stderr: '', code: 5 });
    daemon.failOn('outdate', { exitCode: 5, stderr: '0: State change failed: (-16) Disk state is lower than outdated\n' });
    // outdate's rule: without a meta-data tool the daemon's answer stands (wrapper only ≥ 10).
    expect(await run('outdate', 'r0')).toEqual({ stdout: '', stderr: '0: State change failed: (-16) Disk state is lower than outdated\n', code: 5 });
  });

  it('stops the rest of that resource, not the next resource; exit code is the highest', async () => {
    daemon.failOn('primary', { exitCode: 17, stderr: '1: State change failed: (-2) Need access to UpToDate data\n' }, 1);
    const r = await run('primary', 'all');
    expect(daemon.sequence()).toEqual(['primary 0', 'primary 1']);
    expect(r.code).toBe(17);

    daemon.requests.length = 0;
    daemon.script = (_cmd, a) => (a.minor === 0 ? { exitCode: 11 } : a.minor === 1 ? { exitCode: 5 } : undefined);
    expect((await run('secondary', 'all')).code).toBe(11);
    expect(daemon.sequence()).toEqual(['secondary 0', 'secondary 1']);
  });
});

describe('up: drbdadm 8.4 stages', () => {
  it('a failed attach lets the other attaches run, then stops before any connect; exit 1', async () => {
    daemon.failOn('attach', { exitCode: 10, stderr: '0: Failure: (124) Device is attached to a disk (use detach first)\n' }, 0);
    const r = await run('up', 'all');
    expect(daemon.sequence()).toEqual(['new-resource r0', 'new-minor 0', 'new-resource r1', 'new-minor 1', 'new-minor 2', 'attach 0', 'attach 1', 'attach 2']);
    expect(r.stderr).toBe(
      "0: Failure: (124) Device is attached to a disk (use detach first)\nCommand 'drbdsetup attach 0 /dev/sdb1 /dev/sdb1 internal --al-extents=257 --on-io-error=detach' terminated with exit code 10\n",
    );
    expect(r.code).toBe(1);
  });

  it('a failed new-minor skips the resource\'s other minors with drbdadm\'s note', async () => {
    daemon.failOn('new-minor', { exitCode: 10, stderr: 'r1: Failure: (161) Minor or volume exists already (delete it first)\n' }, 1);
    const r = await run('up', 'r1');
    expect(daemon.sequence()).toEqual(['new-resource r1', 'new-minor 1']);
    expect(r.stderr).toBe(
      "r1: Failure: (161) Minor or volume exists already (delete it first)\nCommand 'drbdsetup new-minor r1 1 0' terminated with exit code 10\ndrbdadm: new-minor r1: skipped due to earlier error\n",
    );
    expect(r.code).toBe(1);
  });

  it('starts the daemon when none is running, then talks to it', async () => {
    await daemon.stop();
    deps = testDeps(deps.runDir, { startDaemon: async () => void (await daemon.start()) });
    const r = await run('up', 'r0');
    expect(r).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(daemon.sequence()).toEqual(['new-resource r0', 'new-minor 0', 'attach 0', 'connect r0']);
  });
});

describe('resource names', () => {
  it('unknown resource: drbdadm\'s message, exit 1, nothing sent', async () => {
    expect(await run('primary', 'nosuch')).toEqual({ stdout: '', stderr: "'nosuch' not defined in your config (for this host).\n", code: 1 });
    expect(await run('up', 'r0', 'nosuch')).toEqual({ stdout: '', stderr: "'nosuch' not defined in your config (for this host).\n", code: 1 });
    expect(daemon.requests).toEqual([]);
  });

  it('an unknown name after a known one: the known one ran (immediate commands), exit 1', async () => {
    const r = await run('primary', 'r0', 'nosuch', 'r1');
    expect(daemon.sequence()).toEqual(['primary 0']);
    expect(r.code).toBe(1);
  });

  it('no names, a volume for a resource-wide command, a multi-volume new-current-uuid', async () => {
    expect(await run('primary')).toMatchObject({ code: 1, stderr: expect.stringMatching(/No resource names specified\n$/) });
    expect(await run('down', 'r1/1')).toEqual({ stdout: '', stderr: 'down operates on whole resources, but you specified a specific volume!\n', code: 1 });
    expect(await run('new-current-uuid', 'r1')).toEqual({
      stdout: '',
      stderr: "new-current-uuid requires a specific volume id, but none is specified.\nTry 'new-current-uuid minor-<minor_number>' or 'new-current-uuid r1/<vnr>'\n",
      code: 1,
    });
    expect(daemon.requests).toEqual([]);
  });
});

describe('options', () => {
  it('an option the command does not take is drbdadm\'s usage error', async () => {
    expect(await run('primary', '--foo', 'r0')).toEqual({ stdout: '', stderr: "drbdadm: unrecognized option '--foo'\ntry 'drbdadm help'\n", code: 1 });
    expect(await run('attach', '--force', 'r0')).toEqual({ stdout: '', stderr: "drbdadm: unrecognized option '--force'\ntry 'drbdadm help attach'\n", code: 1 });
    expect(await run('bogus', 'r0')).toEqual({ stdout: '', stderr: "drbdadm: Unknown command 'bogus'\n", code: 1 });
  });

  it('a bad value for a typed option is drbdsetup\'s refusal (exit 20)', async () => {
    expect(await run('connect', '--protocol=D', 'r0')).toEqual({ stdout: '', stderr: "Option --protocol: invalid argument 'D'\n", code: 20 });
    expect(daemon.requests).toEqual([]);
  });
});

describe('udrbdd not running: what drbdsetup says on a kernel without the object', () => {
  beforeEach(() => daemon.stop());

  it('minor commands: (127) Device minor not allocated, exit 10', async () => {
    expect(await run('role', 'r0')).toEqual({
      stdout: '',
      stderr: "0: Failure: (127) Device minor not allocated\nadditional info from kernel:\nunknown minor\nCommand 'drbdsetup role 0' terminated with exit code 10\n",
      code: 10,
    });
  });

  it('disconnect: the captured (162) unknown connection; down: nothing to do', async () => {
    expect(await run('disconnect', 'r0')).toEqual({
      stdout: '',
      stderr: "??: Failure: (162) Invalid configuration request\nadditional info from kernel:\nunknown connection\nCommand 'drbdsetup disconnect ipv4:127.0.0.1:7788 ipv4:127.0.0.2:7788' terminated with exit code 10\n",
      code: 10,
    });
    expect(await run('down', 'all')).toEqual({ stdout: '', stderr: '', code: 0 });
  });

  it('status: each resource is drbdsetup\'s "No such resource"', async () => {
    expect(await run('status', 'r0')).toEqual({ stdout: '', stderr: "r0: No such resource\nCommand 'drbdsetup status r0' terminated with exit code 10\n", code: 10 });
  });
});

describe('the fallback rule to the offline meta-data tool', () => {
  function tool(answer: { exitCode: number; stdout?: string; stderr?: string }) {
    const calls: unknown[][] = [];
    const t: OfflineMetaTool = {
      run: async (op, target, options) => {
        calls.push([op, target, options]);
        return { stdout: '', stderr: '', ...answer };
      },
    };
    return { t, calls };
  }

  it('minor not configured (10): the daemon\'s text is dropped, drbdmeta\'s answer is reported', async () => {
    const { t, calls } = tool({ exitCode: 0, stdout: 'Consistent\n' });
    deps = testDeps(deps.runDir, { offline: t });
    daemon.failOn('dstate', { exitCode: 10, stderr: '0: Failure: (127) Device minor not allocated\n' });
    expect(await run('dstate', 'r0')).toEqual({ stdout: 'Consistent\n', stderr: '', code: 0 });
    expect(calls).toEqual([['dstate', { minor: 0, disk: '/dev/sdb1', metaDisk: { kind: 'internal' } }, []]]);
  });

  it('drbdmeta failing: its text, its code, the wrapper line for ≥ 10 with drbdmeta\'s argv', async () => {
    const { t } = tool({ exitCode: 20, stderr: "Device '0' is configured!\n" });
    deps = testDeps(deps.runDir, { offline: t });
    daemon.failOn('get-gi', { exitCode: 10 });
    expect(await run('get-gi', 'r0')).toEqual({
      stdout: '',
      stderr: "Device '0' is configured!\nCommand 'drbdmeta 0 v08 /dev/sdb1 internal get-gi' terminated with exit code 20\n",
      code: 20,
    });
    const { t: t1 } = tool({ exitCode: 1, stderr: 'No valid meta data found\n' });
    deps = testDeps(deps.runDir, { offline: t1 });
    expect(await run('get-gi', 'r0')).toEqual({ stdout: '', stderr: 'No valid meta data found\n', code: 1 });
  });

  it('11 and 17 are reported as the daemon said, without the wrapper line, and no fallback', async () => {
    const { t, calls } = tool({ exitCode: 0 });
    deps = testDeps(deps.runDir, { offline: t });
    daemon.failOn('invalidate', { exitCode: 11, stderr: '0: State change failed: (-15) Need a connection to start verify or resync\n' });
    expect(await run('invalidate', 'r0')).toEqual({ stdout: '', stderr: '0: State change failed: (-15) Need a connection to start verify or resync\n', code: 11 });
    daemon.failOn('show-gi', { exitCode: 17, stderr: 'x\n' });
    expect(await run('show-gi', 'r0')).toEqual({ stdout: '', stderr: 'x\n', code: 17 });
    expect(calls).toEqual([]);
  });

  it('outdate: 17 ends silently with 17; anything else falls back', async () => {
    const { t, calls } = tool({ exitCode: 0 });
    deps = testDeps(deps.runDir, { offline: t });
    daemon.failOn('outdate', { exitCode: 17, stderr: NO_UPTODATE });
    expect(await run('outdate', 'r0')).toEqual({ stdout: '', stderr: '', code: 17 });
    daemon.failOn('outdate', { exitCode: 5, stderr: '0: State change failed: (-16) Disk state is lower than outdated\n' });
    expect(await run('outdate', 'r0')).toEqual({ stdout: '', stderr: '', code: 0 });
    expect(calls.map((c) => c[0])).toEqual(['outdate']);
  });

  it('without a meta-data tool the daemon\'s answer stands', async () => {
    daemon.failOn('dstate', { exitCode: 10, stderr: '0: Failure: (127) Device minor not allocated\n' });
    expect(await run('dstate', 'r0')).toEqual({
      stdout: '',
      stderr: "0: Failure: (127) Device minor not allocated\nCommand 'drbdsetup dstate 0' terminated with exit code 10\n",
      code: 10,
    });
  });

  it('up runs apply-al offline before attach; its failure stops attach and connect (exit 1)', async () => {
    const { t, calls } = tool({ exitCode: 20, stderr: "Device '0' is configured!\n" });
    deps = testDeps(deps.runDir, { offline: t });
    const r = await run('up', 'r0');
    expect(calls).toEqual([['apply-al', { minor: 0, disk: '/dev/sdb1', metaDisk: { kind: 'internal' } }, []]]);
    expect(daemon.sequence()).toEqual(['new-resource r0', 'new-minor 0']);
    expect(r).toEqual({ stdout: '', stderr: "Device '0' is configured!\nCommand 'drbdmeta 0 v08 /dev/sdb1 internal apply-al' terminated with exit code 20\n", code: 1 });
  });
});
