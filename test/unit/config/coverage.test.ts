// The corpus covers every option of spec/config-defaults.md §2 and every syntax form.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../../src/config/index.js';
import { corpus, FIXTURES } from './helpers.js';

const SPEC_OPTIONS = [
  'protocol', 'resync-rate', 'al-extents', 'on-io-error', 'fencing', 'disk-barrier', 'disk-flushes', 'disk-drain',
  'md-flushes', 'resync-after', 'c-plan-ahead', 'c-delay-target', 'c-fill-target', 'c-max-rate', 'c-min-rate',
  'disk-timeout', 'ping-int', 'ping-timeout', 'timeout', 'connect-int', 'ko-count', 'max-buffers', 'max-epoch-size',
  'sndbuf-size', 'rcvbuf-size', 'cram-hmac-alg', 'shared-secret', 'allow-two-primaries', 'after-sb-0pri',
  'after-sb-1pri', 'after-sb-2pri', 'rr-conflict', 'always-asbp', 'data-integrity-alg', 'verify-alg', 'csums-alg',
  'on-congestion', 'tcp-cork', 'use-rle', 'wfc-timeout', 'degr-wfc-timeout', 'outdated-wfc-timeout', 'wait-after-sb',
  'become-primary-on', 'on-no-data-accessible',
  'pri-on-incon-degr', 'pri-lost-after-sb', 'pri-lost', 'initial-split-brain', 'split-brain', 'fence-peer',
  'unfence-peer', 'local-io-error', 'before-resync-target', 'after-resync-target', 'before-resync-source', 'out-of-sync',
];

function allFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

const configs: Config[] = corpus().map((f) => loadConfig(f));
const text = allFiles(FIXTURES).map((f) => fs.readFileSync(f, 'utf8')).join('\n');

describe('corpus coverage', () => {
  it.each(SPEC_OPTIONS)('option %s is used', (name) => {
    const used = configs.some((c) => [c.common, ...c.resources.map((r) => r.sections)].some((s) => s && Object.values(s).some((l) => l.some((o) => o.name === name))));
    expect(used).toBe(true);
  });

  it('global options are used', () => {
    expect(configs.some((c) => c.global.minorCount !== undefined)).toBe(true);
    expect(configs.some((c) => c.global.usageCount === 'yes')).toBe(true);
    expect(configs.some((c) => c.global.dialogRefresh !== undefined)).toBe(true);
  });

  const FORMS: [string, RegExp][] = [
    ['8.3 top-level protocol', /^\s*protocol [ABC];/m],
    ['8.3 syncer rate', /syncer \{[^}]*\brate\b/],
    ['8.3 syncer after', /syncer \{[^}]*\bafter\b/],
    ['8.3 no-disk-flushes', /no-disk-flushes;/],
    ['8.3 outdate-peer', /outdate-peer /],
    ['8.3 flexible-meta-disk', /flexible-meta-disk /],
    ['on with several hosts', /on \w+ \w+ \{/],
    ['floating ipv4 implicit', /floating \d+\.\d+\.\d+\.\d+:\d+/],
    ['floating ipv6', /floating ipv6 \[/],
    ['volume N {}', /volume \d+ \{/],
    ['device /dev/drbdN', /device\s+\/dev\/drbd\d+;/],
    ['device minor N', /device\s+minor \d+;/],
    ['device /dev/drbdN minor N', /device\s+\/dev\/drbd\d+ minor \d+;/],
    ['device /dev/drbd_NAME minor N', /device\s+"?\/dev\/drbd_\w+"? minor \d+;/],
    ['meta-disk internal', /meta-disk\s+internal;/],
    ['meta-disk DEV', /meta-disk \/dev\/\S+;/],
    ['meta-disk DEV [IDX]', /meta-disk \/dev\/\S+ \[\s*\d+\s*\];/],
    ['address ipv4 implicit', /address\s+\d+\.\d+\.\d+\.\d+:\d+;/],
    ['address ipv4 explicit', /address\s+ipv4 /],
    ['address ipv6', /address\s+ipv6 \[/],
    ['quoted handler', /split-brain\s+"/],
    ['comment', /#/],
    ['skip {}', /^skip \{/m],
    ['skip name {}', /^skip \w+ \{/m],
    ['include glob', /include "[^"]*\*[^"]*";/],
    ['include plain file', /include "[^"*]*";/],
    ['nested include', /^include "extra\//m],
    ['common section', /^common \{/m],
    ['resource-level volume statements', /^resource shared \{\n\s+device/m],
  ];
  it.each(FORMS)('syntax form: %s', (_n, re) => {
    expect(text).toMatch(re);
  });
});
