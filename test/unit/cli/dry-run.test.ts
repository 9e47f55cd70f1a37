// `drbdadm -d`: the low-level command lines, against Debian's drbdadm-84 (drbd-utils 9.22) on
// every corpus configuration, byte for byte (stdout, stderr, exit code) after the deliberate
// differences, each tested on its own below:
// 1. argv[0] is `drbdsetup` (8.4-era utils), not drbd-utils 9's `/lib/drbd/drbdsetup-84`;
//    drbdadm names itself `drbdadm`, not `drbdadm-84`;
// 2. a repeated option, and a volume's own `disk {}` option, show the value udrbd applies (the
//    last statement; the volume's over the resource's), where drbdadm-84 passes the first one
//    and lets resource/common values beat the volume's;
// 3. parse warnings are printed once (drbdadm-84 repeats them once per internal pass);
// 4. a non-ASCII character gets one backslash (drbdadm-84 puts one before each of its UTF-8
//    bytes, which leaves invalid UTF-8 on the terminal).
// Needs root (unshare --uts for the fake hostname) and drbd-utils; fails if either is missing.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpus, oracle, testHost, type Run } from '../config/helpers.js';
import { drbdadm, testDeps, tmpRunDir, writeConf } from './helpers.js';

/** Deliberate difference 1, applied to drbdadm-84's output. */
function as84Utils(r: Run): Run {
  const fix = (s: string) => s.replaceAll('/lib/drbd/drbdsetup-84', 'drbdsetup').replaceAll('drbdadm-84', 'drbdadm');
  return { stdout: fix(r.stdout), stderr: fix(r.stderr), code: r.code };
}

/** No daemon listens here: -d must not need one (adjust asks, and finds nothing up). */
const deps = testDeps(tmpRunDir());

async function both(host: string, args: string[]): Promise<{ want: Run; got: Run }> {
  const want = as84Utils(oracle(host, args));
  const got = await drbdadm(host, args, deps);
  return { want, got };
}

const COMMANDS: string[][] = [
  ['up', 'all'],
  ['adjust', 'all'],
  ['down', 'all'],
  ['attach', 'all'],
  ['detach', '--force', 'all'],
  ['connect', 'all'],
  ['connect', '--discard-my-data', 'all'],
  ['--', '--discard-my-data', 'connect', 'all'],
  ['disconnect', 'all'],
  ['primary', 'all'],
  ['primary', '--force', 'all'],
  ['--', '--overwrite-data-of-peer', 'primary', 'all'],
  ['secondary', 'all'],
  ['invalidate', 'all'],
  ['invalidate-remote', 'all'],
  ['outdate', 'all'],
  ['--', '--start=8', '--stop=1M', 'verify', 'all'],
  ['pause-sync', 'all'],
  ['resume-sync', 'all'],
  ['new-current-uuid', '--clear-bitmap', 'all'],
  ['wait-connect', 'all'],
  ['role', 'all'],
  ['cstate', 'all'],
  ['dstate', 'all'],
  ['get-gi', 'all'],
  ['show-gi', 'all'],
  ['status'],
];

/** Corpus files where difference 2 or 3 shows; they are compared in their own tests. */
const SPECIAL = new Set(['14-multi-volume.conf', '26-common-and-override.conf', '28-resync-after-unknown.conf']);

const files = corpus().filter((f) => !SPECIAL.has(path.basename(f)));

describe.each(files.map((f) => [path.relative(path.dirname(path.dirname(f)), f), f]))('drbdadm -d on %s', (_name, file) => {
  const host = testHost(file);
  it.each(COMMANDS.map((c) => [c.join(' '), c]))('%s matches drbdadm-84', async (_c, cmd) => {
    const { want, got } = await both(host, ['-d', '-c', file, ...cmd]);
    expect(got).toEqual(want);
  });
});

describe('each resource by name, and RES/VNR', () => {
  it.each(files.map((f) => [path.basename(f), f]))('%s: up RES, attach RES/0', async (_n, file) => {
    const host = testHost(file);
    const names = (await drbdadm(host, ['-c', file, 'sh-resources'], deps)).stdout.trim().split(' ').filter(Boolean);
    expect(names.length).toBeGreaterThan(0);
    for (const r of names) {
      for (const cmd of [['up', r], ['attach', `${r}/0`], ['primary', r]]) {
        const { want, got } = await both(host, ['-d', '-c', file, ...cmd]);
        expect({ cmd, ...got }).toEqual({ cmd, ...want });
      }
    }
  });
});

const FIX = path.resolve(__dirname, '../../fixtures/drbd-conf');

describe('deliberate difference 2: the value udrbd applies', () => {
  it('a volume\'s own disk option beats the resource/common value (14-multi-volume)', async () => {
    const file = path.join(FIX, '14-multi-volume.conf');
    const { want, got } = await both('store1', ['-d', '-c', file, 'up', 'all']);
    // drbdadm-84 passes common's 60M for volume 1, whose own `disk { resync-rate 20M; }` udrbd applies.
    expect(got).toEqual({ ...want, stdout: want.stdout.replace('--c-plan-ahead=0 --resync-rate=60M', '--c-plan-ahead=0 --resync-rate=20M') });
    expect(got.stdout).not.toBe(want.stdout);
  });

  it('the last of repeated statements (26-common-and-override: resync-rate 10M; resync-rate 20M)', async () => {
    const file = path.join(FIX, '26-common-and-override.conf');
    const { want, got } = await both('n1', ['-d', '-c', file, 'attach', 'all']);
    expect(got).toEqual({ ...want, stdout: want.stdout.replace('--resync-rate=10M', '--resync-rate=20M') });
    expect(got.stdout).not.toBe(want.stdout);
  });

  it('every other command on those files is identical', async () => {
    for (const [f, host] of [['14-multi-volume.conf', 'store1'], ['26-common-and-override.conf', 'n1']]) {
      for (const cmd of COMMANDS.filter((c) => !['up', 'adjust', 'attach'].includes(c[0]))) {
        const { want, got } = await both(host, ['-d', '-c', path.join(FIX, f), ...cmd]);
        expect({ cmd, ...got }).toEqual({ cmd, ...want });
      }
    }
  });
});

describe('deliberate difference 3: warnings once', () => {
  it('28-resync-after-unknown: the warning once, the lines identical (resync-after dropped)', async () => {
    const file = path.join(FIX, '28-resync-after-unknown.conf');
    for (const cmd of [['up', 'all'], ['primary', 'all']]) {
      const { want, got } = await both('n1', ['-d', '-c', file, ...cmd]);
      const warning = `${file}:4: in resource chained:\n\tresource 'gone' mentioned in 'resync-after' option is not known.\n`;
      expect(want.stderr).toBe(warning.repeat(3));
      expect(got).toEqual({ ...want, stderr: warning });
    }
  });
});

describe('deliberate difference 4: non-ASCII characters', () => {
  it('one backslash per character', async () => {
    const file = writeConf(`global { disable-ip-verification; }
resource s {
  net { shared-secret "pässwört"; }
  on n1 { device /dev/drbd1; disk /dev/c; meta-disk internal; address 10.0.0.1:7001; }
  on n2 { device /dev/drbd1; disk /dev/c; meta-disk internal; address 10.0.0.2:7001; }
}
`);
    const { want, got } = await both('n1', ['-d', '-c', file, 'connect', 's']);
    expect(got).toEqual({ stdout: 'drbdsetup connect s ipv4:10.0.0.1:7001 ipv4:10.0.0.2:7001 --shared-secret=p\\ässw\\ört\n', stderr: '', code: 0 });
    // drbdadm-84: backslash, byte, backslash, byte — not valid UTF-8 any more.
    expect(want.stdout).toContain('--shared-secret=p\\\uFFFD\\\uFFFDssw');
  });
});

/** Printable ASCII except what a quoted drbd.conf string cannot hold as is. */
const PRINTABLE = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i))
  .filter((c) => c !== '"' && c !== '\\')
  .join('');

describe('option order and escaping on purpose-made configurations', () => {
  const cases: Record<string, { host: string; text: string }> = {
    'common options in front, reversed; resource own in file order; duplicates in net kept': {
      host: 'n1',
      text: `global { disable-ip-verification; }
common { disk { c-plan-ahead 1; c-delay-target 2; } net { ping-int 3; timeout 40; ko-count 3; } options { cpu-mask 2; } }
resource r {
  options { on-no-data-accessible suspend-io; }
  disk { on-io-error detach; al-extents 200; disk-timeout 5; }
  net { max-buffers 100; ko-count 4; connect-int 7; ko-count 5; }
  volume 0 { device /dev/drbd0; disk /dev/a; meta-disk internal; disk { md-flushes no; disk-drain no; al-updates no; } }
  volume 1 { device /dev/drbd1; disk /dev/b; meta-disk internal; }
  on n1 { address 10.0.0.1:7000; }
  on n2 { address 10.0.0.2:7000; }
}
`,
    },
    'startup options for wait-connect (become-primary-on is drbdadm\'s own)': {
      host: 'n1',
      text: `global { disable-ip-verification; }
common { startup { outdated-wfc-timeout 7; wait-after-sb; } }
resource r0 {
  startup { wfc-timeout 9; degr-wfc-timeout 3; become-primary-on n1; }
  on n1 { device /dev/drbd0; disk /dev/a; meta-disk internal; address 10.0.0.1:7000; }
  on n2 { device /dev/drbd0; disk /dev/a; meta-disk internal; address 10.0.0.2:7000; }
}
`,
    },
    'shell escaping of every printable ASCII character (two secrets: at most 63 characters each)': {
      host: 'n1',
      text: `global { disable-ip-verification; }
resource s {
  net { shared-secret "${PRINTABLE.slice(0, 46)}"; }
  on n1 { device /dev/drbd1; disk /dev/c; meta-disk internal; address 10.0.0.1:7001; }
  on n2 { device /dev/drbd1; disk /dev/c; meta-disk internal; address 10.0.0.2:7001; }
}
resource t {
  net { shared-secret "${PRINTABLE.slice(46)}"; }
  on n1 { device /dev/drbd2; disk /dev/d; meta-disk internal; address 10.0.0.1:7002; }
  on n2 { device /dev/drbd2; disk /dev/d; meta-disk internal; address 10.0.0.2:7002; }
}
`,
    },
  };
  it.each(Object.entries(cases))('%s', async (_name, c) => {
    const file = writeConf(c.text);
    for (const cmd of [['up', 'all'], ['wait-connect', 'all'], ['connect', '--protocol=A', '--discard-my-data', 'all'], ['attach', '--al-extents=99', 'all'], ['--', '--force', 'up', 'all']]) {
      const { want, got } = await both(c.host, ['-d', '-c', file, ...cmd]);
      expect({ cmd, ...got }).toEqual({ cmd, ...want });
    }
  });
});
