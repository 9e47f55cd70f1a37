// The YAML form: `dump --yaml`, .yaml/.yml accepted as config, round trip over the corpus
// (conf → yaml → parse → dump identical to the conf's dump), errors with file and line.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpus, testHost, tmpDir, udrbd } from './helpers.js';

describe.each(corpus().map((f) => [path.basename(path.dirname(f)) === 'drbd-conf' ? path.basename(f) : path.relative(path.dirname(path.dirname(f)), f), f]))('YAML round trip of %s', (_n, file) => {
  it('dump of the YAML form equals dump of the conf (except the # FILE header)', async () => {
    const host = testHost(file);
    const conf = await udrbd(host, ['-c', file, 'dump']);
    const y = await udrbd(host, ['-c', file, 'dump', '--yaml', 'all']);
    // The IP check refuses `dump all` for 23-ip-not-local in both forms alike.
    expect(y.code).toBe(conf.code);
    expect(y.stderr).toBe(conf.stderr);
    if (conf.code !== 0) return;
    const yfile = path.join(tmpDir(), 'drbd.yaml');
    fs.writeFileSync(yfile, y.stdout);
    const back = await udrbd(host, ['-c', yfile, 'dump']);
    expect(back.code).toBe(0);
    const [head, ...rest] = back.stdout.split('\n');
    expect(head).toBe(`# ${yfile}`);
    expect(rest.join('\n')).toBe(conf.stdout.split('\n').slice(1).join('\n'));
    // And the YAML of the YAML is the same YAML (a fixed point).
    const y2 = await udrbd(host, ['-c', yfile, 'dump', '--yaml']);
    expect(y2.stdout).toBe(y.stdout);
  });
});

describe('YAML form', () => {
  it('dump --yaml RES prints only that resource', async () => {
    const file = path.join(corpus()[0]);
    const y = await udrbd('alpha', ['-c', file, 'dump', '--yaml', 'data']);
    expect(y.code).toBe(0);
    expect(y.stdout).toMatch(/^resources:\n {2}data:\n {4}defined-at: .*01-minimal-84.conf:5\n/);
    expect(y.stdout).not.toMatch(/global|common/);
  });

  it('a hand-written .yml file works, with 8.4 names and plain YAML values', async () => {
    const f = path.join(tmpDir(), 'cluster.yml');
    fs.writeFileSync(
      f,
      [
        'global: { usage-count: no, disable-ip-verification: true }',
        'common:',
        '  net: { protocol: C, allow-two-primaries: false }',
        'resources:',
        '  r0:',
        '    hosts:',
        '      - { on: n1, device: /dev/drbd0, disk: /dev/sdb, meta-disk: internal, address: 10.0.0.1:7788 }',
        '      - on: [n2, n2b]',
        '        volumes:',
        '          - { volume: 0, minor: 0, disk: /dev/sdb, meta-disk: /dev/md, meta-index: 3 }',
        '        address: ipv6 [fd00::2]:7788',
        '    disk: { resync-rate: 40M, disk-flushes: no }',
        '',
      ].join('\n'),
    );
    const r = await udrbd('n1', ['-c', f, 'dump', 'r0']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        '# resource r0 on n1: not ignored, not stacked',
        `# defined at ${f}:5`,
        'resource r0 {',
        '    on n1 {',
        '        device           /dev/drbd0 minor 0;',
        '        disk             /dev/sdb;',
        '        meta-disk        internal;',
        '        address          ipv4 10.0.0.1:7788;',
        '    }',
        '    on n2 n2b {',
        '        volume 0 {',
        '            device       minor 0;',
        '            disk         /dev/sdb;',
        '            meta-disk        /dev/md [3];',
        '        }',
        '        address          ipv6 [fd00::2]:7788;',
        '    }',
        '    disk {',
        '        resync-rate      40M;',
        '        disk-flushes      no;',
        '    }',
        '}',
        '',
        '',
      ].join('\n'),
    );
  });

  const bad: [string, string, string, number][] = [
    ['unknown option', 'resources:\n  r0:\n    net:\n      frob: 1\n', "FILE:4: unknown option 'frob' in net", 10],
    ['bad enum', 'resources:\n  r0:\n    net:\n      after-sb-1pri: maybe\n', "FILE:4: unknown value 'maybe' for after-sb-1pri, should be one of disconnect, consensus, violently-as0p, discard-secondary, call-pri-lost-after-sb", 10],
    ['out of range', 'resources:\n  r0:\n    disk:\n      resync-rate: 5G\n', 'FILE:4: resync-rate 5G => 5242880k out of range [1..4194304]k.', 10],
    ['bad number', 'resources:\n  r0:\n    disk:\n      c-max-rate: fast\n', 'FILE:4: fast is not a valid number', 20],
    ['syntax error', 'resources:\n  r0: [\n', 'FILE:3: YAML error: ', 10],
    ['missing address', 'resources:\n  r0:\n    hosts:\n      - on: n1\n        device: /dev/drbd0\n        disk: /dev/sda\n        meta-disk: internal\n', "FILE:4: in resource r0, on n1 { ... }: 'address' keyword missing.", 10],
    ['bad address', 'resources:\n  r0:\n    hosts:\n      - on: n1\n        address: somewhere\n', "FILE:5: address must be '[ipv4|ipv6] IP:PORT' (IPv6 as [ADDR]:PORT), got 'somewhere'", 10],
    ['duplicate key', 'resources:\n  r0: {}\n  r0: {}\n', 'FILE:3: YAML error: ', 10],
    ['unknown top-level key', 'resource:\n  r0: {}\n', "FILE:1: unknown top-level key 'resource' (global, common, resources)", 10],
  ];
  it.each(bad)('error: %s names file and line', async (_n, text, msg, code) => {
    const f = path.join(tmpDir(), 'bad.yaml');
    fs.writeFileSync(f, text);
    const r = await udrbd('n1', ['-c', f, 'dump']);
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr.startsWith(msg.replace('FILE', f))).toBe(true);
    expect(r.stderr.split('\n').length).toBe(2);
  });
});
