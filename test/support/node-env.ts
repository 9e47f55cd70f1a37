// A udrbd "node" for tests: its own run directory, hostname and config file, so several
// nodes run side by side on one machine (DESIGN.md: UDRBD_HOSTNAME, UDRBD_RUN_DIR).
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');
export const BIN = (name: string) => join(ROOT, 'bin', name);

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class TestNode {
  readonly runDir: string;
  constructor(
    readonly hostname: string,
    readonly configFile: string,
    runDir?: string,
  ) {
    this.runDir = runDir ?? mkdtempSync(join(tmpdir(), `udrbd-${hostname}-`));
  }

  /** /dev/drbdN nodes: off by default, since the nodes of a test share one machine. */
  deviceNodes = false;

  get env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      UDRBD_HOSTNAME: this.hostname,
      UDRBD_RUN_DIR: this.runDir,
      UDRBD_LOG_LEVEL: 'debug',
      UDRBD_DEVICE_NODES: this.deviceNodes ? 'on' : 'off',
    };
  }

  /** Runs `drbdadm -c CONFIG args...` synchronously. */
  drbdadm(...args: string[]): CmdResult {
    return this.run('drbdadm', ['-c', this.configFile, ...args]);
  }

  run(bin: string, args: string[]): CmdResult {
    const r = spawnSync(process.execPath, [BIN(bin), ...args], { env: this.env, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs a command without blocking the test's event loop (for commands that wait). */
  runAsync(bin: string, args: string[]): Promise<CmdResult> {
    return new Promise((res) => {
      const c = spawn(process.execPath, [BIN(bin), ...args], { env: this.env });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.stderr.on('data', (d) => (stderr += d));
      c.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
    });
  }

  status(): string {
    const f = join(this.runDir, 'proc-drbd');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  daemonPid(): number | undefined {
    const f = join(this.runDir, 'udrbdd.pid');
    return existsSync(f) ? Number.parseInt(readFileSync(f, 'utf8'), 10) : undefined;
  }

  /** Kills the daemon hard (a node crash as far as the peer is concerned). */
  crash(): void {
    const pid = this.daemonPid();
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already dead */
      }
    }
  }

  /** Stops the daemon if running; used in afterAll so a failed test leaves nothing behind. */
  async stopDaemon(): Promise<void> {
    const pid = this.daemonPid();
    if (!pid) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 100; i++) {
      if (!existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    this.crash();
  }
}

/** Polls until fn() returns a truthy value or the timeout passes. */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
}

/** Builds the project once per test run so the bin/ shims find dist/. */
export function ensureBuilt(): void {
  const r = spawnSync('npx', ['tsc', '-p', ROOT], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc failed:\n${r.stdout}${r.stderr}`);
}
