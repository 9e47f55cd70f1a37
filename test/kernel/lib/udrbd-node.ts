// A udrbd node paired with a kernel guest in tap mode (test/kernel/interop.test.ts): its own
// hostname, run directory, drbd.conf and backing file on the host, every command run inside
// the guest's network namespace so udrbdd (started by `drbdadm up`) listens and dials there.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Guest } from './guest.js';
import type { ExecResult } from './proc.js';
import { sleep } from './proc.js';

export const REPO = resolve(__dirname, '..', '..', '..');

/** Throws (never skips) when a host tool the interop tests need is missing. */
export function requireTool(tool: string, pkg: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is required by the kernel interop tests but not installed: apt-get install ${pkg}`);
  }
}

let nbdPython: string | undefined;

/** A python3 that can `import nbd` (Debian's python3-libnbd; a pyenv python3 may not see it). */
export function nbdPythonBin(): string {
  if (nbdPython) return nbdPython;
  for (const py of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(py, ['-c', 'import nbd'], { stdio: 'ignore' });
      nbdPython = py;
      return py;
    } catch {
      // next
    }
  }
  throw new Error('the kernel interop tests write through NBD with libnbd\'s python binding: apt-get install python3-libnbd');
}

/**
 * DRBD's internal meta-data layout (spec/metadata-v08.md §1): the usable (data) size of a
 * backing device of `sizeBytes` bytes.
 */
export function usableBytes(sizeBytes: number): number {
  const s = Math.floor(sizeBytes / 512);
  const bmSect = Math.ceil(Math.ceil(s / 32768) / 8) * 8;
  return (s - (s % 8) - (bmSect + 8 + 64)) * 512;
}

/** md5 of the first `length` bytes of a host file (the data area of a backing file). */
export function fileMd5(path: string, length: number): string {
  const h = createHash('md5');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let pos = 0;
    while (pos < length) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, length - pos), pos);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

export interface UdrbdLogLine {
  time: string;
  level: number;
  msg: string;
}

export class UdrbdNode {
  readonly runDir: string;
  readonly confPath: string;
  readonly diskPath: string;

  constructor(
    readonly guest: Guest,
    readonly dir: string,
    readonly hostname: string,
  ) {
    this.runDir = join(dir, 'run');
    this.confPath = join(dir, 'drbd.conf');
    this.diskPath = join(dir, `${hostname}.img`);
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, UDRBD_HOSTNAME: this.hostname, UDRBD_RUN_DIR: this.runDir, UDRBD_LOG_LEVEL: 'debug' };
  }

  get logPath(): string {
    return join(this.runDir, 'udrbdd.log');
  }

  get statusPath(): string {
    return join(this.runDir, 'proc-drbd');
  }

  get nbdSocket(): string {
    return join(this.runDir, 'drbd0.sock');
  }

  writeConf(text: string): void {
    writeFileSync(this.confPath, text);
  }

  /** `drbdadm -c CONF args...` inside the guest's namespace (the daemon starts there on `up`). */
  drbdadm(args: string[], timeoutMs = 30_000): Promise<ExecResult> {
    return this.guest.nsExec(process.execPath, [join(REPO, 'bin/drbdadm'), '-c', this.confPath, ...args], { env: this.env, timeoutMs });
  }

  async drbdadmOk(args: string[], timeoutMs = 30_000): Promise<ExecResult> {
    const r = await this.drbdadm(args, timeoutMs);
    if (r.code !== 0) {
      throw new Error(`udrbd: drbdadm ${args.join(' ')} exited ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}\n--- udrbdd log (last lines) ---\n${this.logTail()}`);
    }
    return r;
  }

  /** The status file ($UDRBD_RUN_DIR/proc-drbd), udrbd's /proc/drbd. */
  status(): string {
    return existsSync(this.statusPath) ? readFileSync(this.statusPath, 'utf8') : '';
  }

  /** Byte offset of the end of the daemon log: logSince(mark) returns what came after. */
  logMark(): number {
    try {
      return readFileSync(this.logPath).length;
    } catch {
      return 0;
    }
  }

  logLines(since = 0): UdrbdLogLine[] {
    let raw: Buffer;
    try {
      raw = readFileSync(this.logPath);
    } catch {
      return [];
    }
    const out: UdrbdLogLine[] = [];
    for (const line of raw.subarray(since).toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const j = JSON.parse(line) as { time?: string; level?: number; msg?: string; err?: { message?: string } };
        out.push({ time: j.time ?? '', level: j.level ?? 0, msg: (j.msg ?? '') + (j.err?.message ? ` (${j.err.message})` : '') });
      } catch {
        out.push({ time: '', level: 0, msg: line });
      }
    }
    return out;
  }

  /** The daemon's messages after `since`, one per line (the kernel-style text of each). */
  logSince(since = 0): string {
    return this.logLines(since).map((l) => `${l.time} ${levelName(l.level)} ${l.msg}`).join('\n');
  }

  logTail(lines = 30, since = 0): string {
    return this.logSince(since).split('\n').slice(-lines).join('\n');
  }

  daemonPid(): number | undefined {
    const f = join(this.runDir, 'udrbdd.pid');
    return existsSync(f) ? Number.parseInt(readFileSync(f, 'utf8'), 10) : undefined;
  }

  /** Stops the daemon this node's `drbdadm up` started (SIGTERM, then SIGKILL). */
  async stopDaemon(): Promise<void> {
    const pid = this.daemonPid();
    if (!pid) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 60; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await sleep(50);
    }
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }

  /** python3 + libnbd against the device's NBD socket (Primary only). */
  private nbdPy(script: string, args: string[], timeoutMs: number): Promise<ExecResult> {
    return this.guest.nsExec(nbdPythonBin(), ['-c', script, this.nbdSocket, ...args], { timeoutMs });
  }

  /** Writes `length` random bytes at `offset` through the NBD socket, then flushes. */
  async nbdWriteRandom(offset: number, length: number, timeoutMs = 60_000): Promise<void> {
    const script = `
import nbd, os, sys
h = nbd.NBD()
h.connect_unix(sys.argv[1])
off, n = int(sys.argv[2]), int(sys.argv[3])
step = 1 << 20
pos = 0
while pos < n:
    k = min(step, n - pos)
    h.pwrite(os.urandom(k), off + pos)
    pos += k
h.flush()
h.shutdown()
`;
    const r = await this.nbdPy(script, [String(offset), String(length)], timeoutMs);
    if (r.code !== 0) throw new Error(`udrbd: NBD write of ${length} bytes at ${offset} failed (exit ${r.code}): ${r.stderr.trim()}\n--- udrbdd log (last lines) ---\n${this.logTail()}`);
  }

  /** md5 of the whole device read through the NBD socket (Primary only). */
  async nbdMd5(timeoutMs = 60_000): Promise<string> {
    const script = `
import hashlib, nbd, sys
h = nbd.NBD()
h.connect_unix(sys.argv[1])
size = h.get_size()
m = hashlib.md5()
pos = 0
while pos < size:
    k = min(1 << 20, size - pos)
    m.update(h.pread(k, pos))
    pos += k
h.shutdown()
print(m.hexdigest(), size)
`;
    const r = await this.nbdPy(script, [], timeoutMs);
    if (r.code !== 0) throw new Error(`udrbd: NBD read failed (exit ${r.code}): ${r.stderr.trim()}`);
    return r.stdout.split(/\s+/)[0] ?? '';
  }
}

function levelName(level: number): string {
  return level >= 50 ? 'ERROR' : level >= 40 ? 'WARN' : level >= 30 ? 'INFO' : 'DEBUG';
}
