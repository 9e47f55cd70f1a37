// Builds and runs native-replicator-harness.cc against native/device.cc: the completion rule
// of replicated writes (local done AND net condition; bits for writes the peer did not get),
// which no JS-visible path exercises until the peer link exists.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, ftruncateSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('Device completion rule with a replicator (C++ harness)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'udrbd-repl-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('completes writes after both parts and marks what the peer did not get', () => {
    try {
      execFileSync('sh', ['-c', 'command -v g++'], { stdio: 'ignore' });
    } catch {
      throw new Error('g++ is required to build the C++ harness: apt-get install g++');
    }
    const bin = join(dir, 'harness');
    const native = join(root, 'native');
    execFileSync('g++', [
      '-std=c++17', '-O1', '-Wall', '-Wextra', '-Werror', '-pthread', `-I${native}`,
      join(root, 'test/unit/native-replicator-harness.cc'),
      ...['device.cc', 'bitmap.cc', 'local_disk.cc', 'io_pool.cc', 'activity_log.cc', 'crc32c.cc'].map((f) => join(native, f)),
      '-o', bin,
    ], { stdio: 'inherit' });
    const backing = join(dir, 'disk.img');
    const fd = openSync(backing, 'w');
    ftruncateSync(fd, 2 * 1024 * 1024);
    closeSync(fd);
    let out = '';
    try {
      out = execFileSync(bin, [backing], { encoding: 'utf8' });
    } catch (err) {
      throw new Error(`harness failed:\n${(err as { stdout?: string }).stdout ?? err}`);
    }
    expect(out).toMatch(/^\d+ passed, 0 failed$/m);
  }, 120_000);
});
