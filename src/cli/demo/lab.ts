// The demo's two nodes on this machine (DESIGN.md "Host identity"): a temporary directory
// with one drbd.conf, a sparse backing file, run directory and mount point per node, and the
// environment that makes a shell "be" that node (UDRBD_HOSTNAME, UDRBD_RUN_DIR, UDRBD_CONFIG,
// UDRBD_DEVICE_NODES, PATH with this package's bin/). Commands run through `sh -c` exactly as
// printed, so what the user reads is what ran.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoConfig, type DemoHost } from './config.js';
import type { Narrator } from './narrator.js';

/** The user pressed Ctrl-C (or the demo got SIGTERM). */
export class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

/** A step could not go on (its reason has been printed as a failed check). */
export class StepFailed extends Error {}

export interface DemoNode extends DemoHost {
  /** /dev/drbdN of this node */
  device: string;
  runDir: string;
  statusFile: string;
  nbdSocket: string;
  mountPoint: string;
  env: NodeJS.ProcessEnv;
}

export interface ShResult {
  code: number;
  /** stdout and stderr, interleaved as they arrived */
  out: string;
}

export const RESOURCE = 'r0';
const DEFAULT_PORT = 7789; // DRBD's customary first port, as in the seed (minor 0)
const BIN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin');

export interface LabOptions {
  sizeMiB: number;
  deviceNodes: boolean;
  signal: AbortSignal;
}

export class Lab {
  private constructor(
    readonly dir: string,
    readonly configFile: string,
    readonly nodes: readonly [DemoNode, DemoNode],
    readonly port: number,
    readonly sizeMiB: number,
    private readonly signal: AbortSignal,
    /** Claims the minors against other demos on this machine until removeDir. */
    private readonly minorLock: string,
  ) {}

  static async create(o: LabOptions): Promise<Lab> {
    const dir = mkdtempSync(join(tmpdir(), 'udrbd-demo-'));
    const configFile = join(dir, 'drbd.conf');
    const { minor: first, lock } = claimMinorPair();
    // The port follows the claimed minors, so that two demos started together never listen
    // on the same address (their nodes would pair across the demos).
    const port = await freePort(['127.0.0.1', '127.0.0.2'], DEFAULT_PORT + first);
    const make = (name: string, i: number): DemoNode => {
      const runDir = join(dir, `run-${name}`);
      const minor = first + i;
      return {
        name,
        minor,
        device: `/dev/drbd${minor}`,
        disk: join(dir, `${name}.img`),
        address: `127.0.0.${i + 1}`,
        runDir,
        statusFile: join(runDir, 'proc-drbd'),
        nbdSocket: join(runDir, `drbd${minor}.sock`),
        mountPoint: join(dir, `mnt-${name}`),
        env: {
          ...process.env,
          UDRBD_HOSTNAME: name,
          UDRBD_RUN_DIR: runDir,
          UDRBD_CONFIG: configFile,
          UDRBD_DEVICE_NODES: o.deviceNodes ? 'on' : 'off',
          // This package's drbdadm/udrbd first, and the node that runs this demo for them.
          PATH: [BIN_DIR, dirname(process.execPath), process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'].join(delimiter),
        },
      };
    };
    const nodes = [make('alpha', 0), make('beta', 1)] as const;
    for (const n of nodes) {
      writeFileSync(n.disk, '');
      truncateSync(n.disk, o.sizeMiB * 1024 * 1024);
      mkdirSync(n.mountPoint);
    }
    writeFileSync(configFile, demoConfig(nodes, port));
    return new Lab(dir, configFile, nodes, port, o.sizeMiB, o.signal, lock);
  }

  get alpha(): DemoNode {
    return this.nodes[0];
  }

  get beta(): DemoNode {
    return this.nodes[1];
  }

  get interrupted(): boolean {
    return this.signal.aborted;
  }

  private throwIfInterrupted(): void {
    if (this.signal.aborted) throw this.signal.reason instanceof Error ? this.signal.reason : new Interrupted('SIGINT');
  }

  /** Resolves with P, or rejects as soon as the demo is interrupted. */
  abortable<T>(p: Promise<T>): Promise<T> {
    this.throwIfInterrupted();
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(this.signal.reason);
      this.signal.addEventListener('abort', onAbort, { once: true });
      p.then(resolve, reject).finally(() => this.signal.removeEventListener('abort', onAbort));
    });
  }

  sleep(ms: number): Promise<void> {
    return this.abortable(new Promise((r) => setTimeout(r, ms)));
  }

  /**
   * Runs LINE with `sh -c` as NODE; prints it and its output through N unless quiet.
   * `cleanup: true` runs even after an interruption (the cleanup must not be cut short).
   */
  async sh(n: Narrator | undefined, node: DemoNode, line: string, o: { timeoutMs?: number; cleanup?: boolean } = {}): Promise<ShResult> {
    if (!o.cleanup) this.throwIfInterrupted();
    n?.command(node.name, line);
    const run = new Promise<ShResult>((resolve) => {
      const child = spawn('sh', ['-c', line], { env: node.env, cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => {
        out += `\n(udrbd demo: no answer after ${(o.timeoutMs ?? 120_000) / 1000} s; stopped)\n`;
        child.kill('SIGKILL');
      }, o.timeoutMs ?? 120_000);
      // Interrupted: end the command and wait for it, so that the cleanup's commands never
      // run alongside it.
      const onAbort = () => child.kill('SIGTERM');
      if (!o.cleanup) this.signal.addEventListener('abort', onAbort, { once: true });
      const done = (r: ShResult) => {
        clearTimeout(timer);
        this.signal.removeEventListener('abort', onAbort);
        resolve(r);
      };
      child.on('error', (e) => done({ code: 127, out: `${out}${e.message}\n` }));
      child.on('close', (code, sig) => done({ code: code ?? (sig ? 128 : 1), out }));
    });
    const r = await run;
    if (!o.cleanup) this.throwIfInterrupted();
    n?.output(r.code === 0 ? r.out : `${r.out.replace(/\n+$/, '')}\n(exit code ${r.code})`);
    return r;
  }

  /** The status file of NODE ('' while there is none). */
  status(node: DemoNode): string {
    return existsSync(node.statusFile) ? readFileSync(node.statusFile, 'utf8') : '';
  }

  /** NODE's line for its minor in the status file, e.g. ` 0: cs:Connected ro:...`. */
  stateLine(node: DemoNode): string {
    // `%2d:` as the kernel prints it: ' 0:', '12:', '532:'.
    return this.status(node).split('\n').find((l) => l.trimStart().startsWith(`${node.minor}: cs:`)) ?? '';
  }

  /** Polls NODE's status file until its state line matches RE; '' on timeout. */
  async waitState(node: DemoNode, re: RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const l = this.stateLine(node);
      if (re.test(l)) return l;
      if (Date.now() > deadline) return '';
      await this.sleep(200);
    }
  }

  /** The daemon's own warnings and errors, newest last (for a failure's explanation). */
  logTail(node: DemoNode, lines = 6): string[] {
    const f = join(node.runDir, 'udrbdd.log');
    if (!existsSync(f)) return [];
    const out: string[] = [];
    for (const l of readFileSync(f, 'utf8').split('\n')) {
      try {
        const e = JSON.parse(l) as { level?: number; msg?: string };
        if ((e.level ?? 0) >= 40 && e.msg) out.push(e.msg);
      } catch {
        // a partly written last line
      }
    }
    return out.slice(-lines);
  }

  /** The pid udrbdd recorded, when that process is still a udrbdd. */
  daemonPid(node: DemoNode): number | undefined {
    const f = join(node.runDir, 'udrbdd.pid');
    if (!existsSync(f)) return undefined;
    const pid = Number.parseInt(readFileSync(f, 'utf8'), 10);
    if (!(pid > 0)) return undefined;
    const stat = procRead(`/proc/${pid}/stat`);
    // A zombie is as dead as a missing process for our purposes.
    if (!procRead(`/proc/${pid}/cmdline`).includes('udrbdd') || / Z /.test(stat.slice(stat.lastIndexOf(')')))) return undefined;
    return pid;
  }

  /** Our mount points that are mounted now. */
  mounted(): string[] {
    const mine = new Set(this.nodes.map((n) => n.mountPoint));
    return procRead('/proc/self/mountinfo')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((mp) => mine.has(mp));
  }

  /** Mounts anywhere under the demo's directory (the daemons' FUSE files included). */
  mountsUnderDir(): string[] {
    return procRead('/proc/self/mountinfo')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((mp) => mp.startsWith(this.dir + '/'));
  }

  removeDir(): void {
    rmSync(this.dir, { recursive: true, force: true });
    this.releaseMinors();
  }

  releaseMinors(): void {
    if (procRead(this.minorLock) === String(process.pid)) rmSync(this.minorLock, { force: true });
  }
}

function procRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * A pair of minors whose /dev/drbdN nodes do not exist: the demo never touches a device
 * someone else has (a kernel DRBD, another udrbd). 0 and 1 when free, as on a fresh machine;
 * otherwise a random pair from 100 up, away from the low minors that resources, tests and
 * other demos on a busy machine use (a neighbour that takes the next free name after we
 * looked would otherwise collide with us).
 */
function claimMinorPair(): { minor: number; lock: string } {
  const free = (m: number) => !existsSync(`/dev/drbd${m}`) && !existsSync(`/dev/drbd${m + 1}`);
  const candidates = [0, ...Array.from({ length: 200 }, () => 100 + 2 * Math.floor(Math.random() * 450))];
  for (const m of candidates) {
    if (!free(m)) continue;
    // Two demos started together both see the same free names: the first to create the
    // lock file gets them (a lock left by a dead process is taken over).
    const lock = join(tmpdir(), `udrbd-demo-drbd${m}.lock`);
    if (takeLock(lock)) return { minor: m, lock };
  }
  throw new Error('no free pair of /dev/drbdN names');
}

function takeLock(path: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number.parseInt(procRead(path), 10);
      if (owner > 0 && existsSync(`/proc/${owner}`)) return false;
      rmSync(path, { force: true });
    }
  }
  return false;
}

function canListen(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, host, () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : undefined));
    });
  });
}

/** PREFERRED when it is free on every address, else a port the kernel offers that is. */
async function freePort(hosts: readonly string[], preferred: number): Promise<number> {
  const freeOnAll = async (p: number) => (await Promise.all(hosts.map((h) => canListen(h, p)))).every((x) => x === p);
  if (await freeOnAll(preferred)) return preferred;
  for (let i = 0; i < 20; i++) {
    const p = await canListen(hosts[0]!, 0);
    if (p !== undefined && (await freeOnAll(p))) return p;
  }
  throw new Error(`no TCP port free on ${hosts.join(' and ')}`);
}
