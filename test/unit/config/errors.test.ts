// Broken configurations: one message per problem naming FILE:LINE, drbdadm-84's exit code,
// and nothing on stdout. Where drbdadm-84 fails the same way, its exit code (and wording)
// is checked against the real tool; where udrbd is stricter, that is said per case.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { oracle, tmpDir, udrbd } from './helpers.js';

const HOSTS = `
  on n1 { device /dev/drbd0; disk /dev/sda; address 127.0.0.1:7788; meta-disk internal; }
  on n2 { device /dev/drbd0; disk /dev/sda; address 127.0.0.2:7788; meta-disk internal; }`;

interface Case {
  name: string;
  conf: string;
  args?: string[];
  code: number;
  /** Expected stderr; FILE is replaced by the config's path. */
  stderr: string;
  /** 'same': drbdadm-84 prints exactly this too. 'code': same exit code, different layout
   *  (drbdadm splits the message over two lines or leaves out FILE:LINE). 'stricter':
   *  drbdadm-84 accepts it (exit 0). */
  oracle: 'same' | 'code' | 'stricter';
}

const CASES: Case[] = [
  { name: 'missing semicolon', conf: `resource r0 {${HOSTS}\n  net { protocol C }\n}`, code: 10, oracle: 'code', stderr: `FILE:4: Parse error: ';' expected, but got '}'\n` },
  { name: 'unknown keyword in a section', conf: `resource r0 {${HOSTS}\n  net { foo-bar 1; }\n}`, code: 10, oracle: 'code', stderr: `FILE:4: Parse error: 'an option keyword' expected, but got 'foo-bar'\n` },
  { name: 'unknown keyword in a resource', conf: `resource r0 {${HOSTS}\n  foo;\n}`, code: 10, oracle: 'code', stderr: `FILE:4: Parse error: 'protocol | on | disk | net | syncer | startup | handlers | ignore-on | stacked-on-top-of' expected, but got 'foo'\n` },
  { name: 'unknown top-level keyword', conf: `frobnicate { }\nresource r0 {${HOSTS}\n}`, code: 10, oracle: 'code', stderr: `FILE:1: Parse error: 'global | common | resource | skip | include' expected, but got 'frobnicate'\n` },
  { name: 'unknown syncer option', conf: `resource r0 {${HOSTS}\n  syncer { rate 10M; delay-probe-volume 1; }\n}`, code: 10, oracle: 'code', stderr: `FILE:4: Parse error: 'a syncer option keyword' expected, but got 'delay-probe-volume'\n` },
  { name: 'bad boolean', conf: `resource r0 {${HOSTS}\n  disk { disk-flushes maybe; }\n}`, code: 10, oracle: 'code', stderr: `FILE:4: Parse error: 'yes | no | ;' expected, but got 'maybe'\n` },
  { name: 'unterminated string', conf: `resource r0 {${HOSTS}\n  handlers { split-brain "oops; }\n}`, code: 10, oracle: 'code', stderr: `FILE:4: Unterminated double quoted string (no newlines inside quotes)\n` },
  { name: 'unknown enum value (drbdadm only fails in drbdsetup)', conf: `resource r0 {${HOSTS}\n  net { after-sb-0pri foo; }\n}`, code: 10, oracle: 'stricter', stderr: `FILE:4: unknown value 'foo' for after-sb-0pri, should be one of disconnect, discard-younger-primary, discard-older-primary, discard-zero-changes, discard-least-changes, discard-local, discard-remote\n` },
  { name: 'unknown on-io-error', conf: `resource r0 {${HOSTS}\n  disk {\n    on-io-error panic;\n  }\n}`, code: 10, oracle: 'stricter', stderr: `FILE:5: unknown value 'panic' for on-io-error, should be one of pass_on, call-local-io-error, detach\n` },
  { name: 'unknown protocol', conf: `resource r0 {${HOSTS}\n  protocol D;\n}`, code: 10, oracle: 'code', stderr: `FILE:4: unknown protocol 'D', should be one of A,B,C\n` },
  { name: 'bad number', conf: `resource r0 {${HOSTS}\n  disk { resync-rate 5X; }\n}`, code: 20, oracle: 'code', stderr: `FILE:4: 5X is not a valid number\n` },
  { name: 'bad number in an option drbdadm does not check', conf: `resource r0 {${HOSTS}\n  net { ping-timeout 5X; }\n}`, code: 20, oracle: 'stricter', stderr: `FILE:4: 5X is not a valid number\n` },
  { name: 'bad unit', conf: `resource r0 {${HOSTS}\n  disk { resync-rate 10MB; }\n}`, code: 20, oracle: 'code', stderr: `FILE:4: 10MB is not a valid number\n` },
  { name: 'out of range (rate)', conf: `resource r0 {${HOSTS}\n  disk { resync-rate 5G; }\n}`, code: 10, oracle: 'same', stderr: `FILE:4: resync-rate 5G => 5242880k out of range [1..4194304]k.\n` },
  { name: 'out of range (sectors)', conf: `resource r0 {${HOSTS}\n  disk { c-fill-target 2G; }\n}`, code: 10, oracle: 'same', stderr: `FILE:4: c-fill-target 2G => 4194304s out of range [0..1048576]s.\n` },
  { name: 'out of range (plain)', conf: `resource r0 {${HOSTS}\n  net { max-buffers 10; }\n}`, code: 10, oracle: 'same', stderr: `FILE:4: max-buffers 10 => 10 out of range [32..131072].\n` },
  { name: 'out of range (negative)', conf: `resource r0 {${HOSTS}\n  startup { wfc-timeout -1; }\n}`, code: 10, oracle: 'same', stderr: `FILE:4: wfc-timeout -1 => 18446744073709551615 out of range [0..300000].\n` },
  { name: 'out of range (global)', conf: `global { minor-count 300; }\nresource r0 {${HOSTS}\n}`, code: 10, oracle: 'same', stderr: `FILE:1: minor-count 300 => 300 out of range [1..255].\n` },
  {
    name: 'conflicting minors',
    conf: `resource r0 {${HOSTS}\n}\nresource r1 {\n  on n1 { device /dev/drbd0; disk /dev/sdb; address 127.0.0.1:7789; meta-disk internal; }\n  on n2 { device /dev/drbd1; disk /dev/sdb; address 127.0.0.2:7789; meta-disk internal; }\n}`,
    code: 10,
    oracle: 'same',
    stderr: `FILE:6: conflicting use of device-minor 'device-minor:n1:0' ...\nFILE:2: device-minor 'device-minor:n1:0' first used here.\n`,
  },
  {
    name: 'conflicting addresses',
    conf: `resource r0 {${HOSTS}\n}\nresource r1 {\n  on n1 { device /dev/drbd1; disk /dev/sdb; address 127.0.0.1:7788; meta-disk internal; }\n  on n2 { device /dev/drbd1; disk /dev/sdb; address 127.0.0.2:7789; meta-disk internal; }\n}`,
    code: 10,
    oracle: 'same',
    stderr: `FILE:6: conflicting use of IP 'n1:127.0.0.1:7788' ...\nFILE:2: IP 'n1:127.0.0.1:7788' first used here.\n`,
  },
  { name: 'duplicate resource', conf: `resource r0 {${HOSTS}\n}\nresource r0 {${HOSTS}\n}`, code: 10, oracle: 'same', stderr: `FILE:5: conflicting use of resource section 'r0' ...\nFILE:1: resource section 'r0' first used here.\n` },
  { name: 'explicit minor not matching the name', conf: `resource r0 {\n  on n1 { device /dev/drbd1 minor 2; disk /dev/sda; address 127.0.0.1:7788; meta-disk internal; }\n}`, code: 10, oracle: 'code', stderr: `FILE:2: explicit minor number must match with device name (try "device /dev/drbd2 minor 2;")\n` },
  { name: 'missing address', conf: `resource r0 {\n  on n1 {\n    device /dev/drbd0; disk /dev/sda; meta-disk internal;\n  }\n}`, code: 10, oracle: 'same', stderr: `FILE:2: in resource r0, on n1 { ... }: 'address' keyword missing.\n` },
  { name: 'missing device', conf: `resource r0 {\n  on n1 {\n    disk /dev/sda; address 127.0.0.1:7788; meta-disk internal;\n  }\n}`, code: 10, oracle: 'same', stderr: `FILE:2: in resource r0, on n1 { ... }: 'device' keyword missing.\n` },
  { name: 'missing include', conf: `include "not-there.conf";\nresource r0 {${HOSTS}\n}`, code: 10, oracle: 'same', stderr: `FILE:1: Failed to open include file 'not-there.conf'.\n` },
  { name: 'unknown resource on the command line', conf: `resource r0 {${HOSTS}\n}`, args: ['dump', 'r9'], code: 1, oracle: 'same', stderr: `'r9' not defined in your config (for this host).\n` },
  {
    name: 'resource with no section for this host',
    conf: `resource r0 {\n  on n2 { device /dev/drbd0; disk /dev/sda; address 127.0.0.2:7788; meta-disk internal; }\n  on n3 { device /dev/drbd0; disk /dev/sda; address 127.0.0.3:7788; meta-disk internal; }\n}`,
    args: ['dump', 'r0'],
    code: 1,
    oracle: 'same',
    stderr: `'r0' not defined in your config (for this host).\n`,
  },
  { name: 'become-primary-on both without allow-two-primaries', conf: `resource r0 {${HOSTS}\n  startup { become-primary-on both; }\n}`, code: 10, oracle: 'code', stderr: `CANON:1: in resource r0: become-primary-on is set to both, but allow-two-primaries is not set.\n` },
];

describe('broken configurations', () => {
  it.each(CASES.map((c) => [c.name, c]))('%s', async (_n, c) => {
    const dir = tmpDir();
    const file = path.join(dir, 'drbd.conf');
    fs.writeFileSync(file, c.conf + '\n');
    const args = ['-c', file, ...(c.args ?? ['dump'])];
    const got = await udrbd('n1', args);
    const want = c.stderr.replaceAll('FILE', file).replaceAll('CANON', file);
    expect(got).toEqual({ stdout: '', stderr: want, code: c.code });
    const real = oracle('n1', args);
    if (c.oracle === 'stricter') {
      expect(real.code).toBe(0);
    } else {
      expect(real.code).toBe(c.code);
      expect(real.stdout).toBe('');
      if (c.oracle === 'same') expect(real.stderr).toBe(want);
      else expect(real.stderr.length).toBeGreaterThan(0);
    }
  });

  it('a missing config file: drbdadm-84 words and exit 20', async () => {
    const got = await udrbd('n1', ['-c', '/nonexistent/drbd.conf', 'dump']);
    expect(got).toEqual({ stdout: '', stderr: "Can not open '/nonexistent/drbd.conf'.\n", code: 20 });
    expect(oracle('n1', ['-c', '/nonexistent/drbd.conf', 'dump']).code).toBe(20);
  });

  it('missing keywords are all reported before a later fatal conflict', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'drbd.conf');
    fs.writeFileSync(
      file,
      [
        'resource a {',
        '  on n1 { device minor 1; disk /dev/sda; address 127.0.0.1:7001; meta-disk internal; }',
        '  on n2 { device minor 1; disk /dev/sda; address 127.0.0.2:7001; meta-disk internal; }',
        '}',
        'resource b {',
        '  on n1 { device minor 2; disk /dev/sdb; meta-disk internal; }',
        '  on n2 { device minor 1; disk /dev/sdb; address 127.0.0.2:7002; meta-disk internal; }',
        '}',
        '',
      ].join('\n'),
    );
    const got = await udrbd('n1', ['-c', file, 'dump']);
    const real = oracle('n1', ['-c', file, 'dump']);
    expect(got).toEqual(real);
    expect(got.stderr.split('\n')[0]).toBe(`${file}:6: in resource b, on n1 { ... }: 'address' keyword missing.`);
  });
});
