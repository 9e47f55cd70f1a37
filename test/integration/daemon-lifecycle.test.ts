import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TestNode, ensureBuilt, waitFor } from '../support/node-env.js';

describe('udrbdd lifecycle', () => {
  const node = new TestNode('alpha', '/nonexistent.conf');
  beforeAll(() => ensureBuilt());
  afterAll(() => node.stopDaemon());

  it('starts in the background, answers, writes pid and status files, refuses a second instance', async () => {
    const r = node.run('udrbdd', []);
    expect(r.code, r.stderr).toBe(0);
    const pid = node.daemonPid();
    expect(pid).toBeGreaterThan(0);
    expect(existsSync(join(node.runDir, 'control.sock'))).toBe(true);
    expect(statSync(join(node.runDir, 'control.sock')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(node.runDir, 'proc-drbd'))).toBe(true);
    // Asking again is a no-op: the running daemon answers.
    expect(node.run('udrbdd', []).code).toBe(0);
    expect(node.daemonPid()).toBe(pid);
    // A second foreground instance on the same run directory is refused.
    const second = node.run('udrbdd', ['--foreground']);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(/already running \(pid \d+/);
  });

  it('stops on SIGTERM and removes its run files', async () => {
    await node.stopDaemon();
    await waitFor('pid file removed', () => !existsSync(join(node.runDir, 'udrbdd.pid')));
    expect(existsSync(join(node.runDir, 'control.sock'))).toBe(false);
  });

  it('replaces a stale pid file left by a crashed daemon', async () => {
    expect(node.run('udrbdd', []).code).toBe(0);
    node.crash();
    await waitFor('daemon gone', () => {
      try {
        process.kill(node.daemonPid()!, 0);
        return false;
      } catch {
        return true;
      }
    });
    expect(node.run('udrbdd', []).code).toBe(0);
    await node.stopDaemon();
  });
});
