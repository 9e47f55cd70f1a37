// One qemu guest running the rig image: boot, commands, cable pulls, artifacts, teardown.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import {
  appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync,
  truncateSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { accelArgs, chooseAccel, type Accel } from './accel.js';
import { CommandChannel } from './channel.js';
import { registerCleanup } from './cleanup.js';
import { ensureImage, type RigImage } from './image.js';
import { macFor, netArgs, type NetSpec } from './links.js';
import { Netns, sweepStaleNetns } from './netns.js';
import { ARTIFACTS_ROOT, QEMU } from './paths.js';
import { sleep, type ExecOptions, type ExecResult } from './proc.js';
import { Qmp } from './qmp.js';
import { makeRunDir, sweepStaleRunDirs } from './rundir.js';

export interface DiskSpec {
  /** Host file backing the disk; the guest sees disks in order as /dev/vda, /dev/vdb, ... */
  path: string;
  sizeMiB: number;
  /** Reuse the file's contents (a reboot scenario). Default: recreate it zeroed (sparse). */
  keep?: boolean;
}

export interface GuestOptions {
  /** Guest name: qemu -name and the prefix of every artifact file. */
  name: string;
  /** Guest hostname (DRBD matches it against `on HOST`). Default: name. */
  hostname?: string;
  /** eth0 address with prefix, e.g. 10.99.0.1/24. */
  ip?: string;
  disks?: DiskSpec[];
  net?: NetSpec;
  /** Folder under test-artifacts/kernel/ for this test's artifacts. Default: 'adhoc'. */
  test?: string;
  memMiB?: number;
  cpus?: number;
  /** Record the NIC's traffic from boot to test-artifacts/.../<name>.pcap. */
  pcap?: boolean;
  bootTimeoutMs?: number;
  extraKernelArgs?: string[];
}

export interface RunOptions {
  timeoutMs?: number;
  /** Throw (with stdout/stderr in the message) when the exit code is not 0. */
  check?: boolean;
}

const DEFAULT_RUN_TIMEOUT_MS = 30_000;
// TCG boots in ~5-10 s on an idle machine; two cores shared with other suites (load 10) were
// seen to stretch that to 60 s.
const DEFAULT_BOOT_TIMEOUT_MS = 120_000;

let swept = false;

/** Boots a guest and resolves once its command loop is serving (the share's `ready` file). */
export async function startGuest(opts: GuestOptions): Promise<Guest> {
  if (!swept) {
    swept = true;
    sweepStaleRunDirs();
    sweepStaleNetns();
  }
  const image = await ensureImage();
  const accel = await chooseAccel(image);
  const g = new Guest(opts, image, accel);
  try {
    await g.boot();
  } catch (err) {
    await g.stop({ collect: false });
    throw err;
  }
  return g;
}

export class Guest {
  readonly name: string;
  readonly hostname: string;
  /** eth0 address without prefix (for drbd.conf), or undefined without ip. */
  readonly address: string | undefined;
  readonly artifactsDir: string;
  /** The namespace holding this guest's tap (kind 'tap' only). */
  netns: Netns | undefined;
  /** Milliseconds from qemu spawn to the command loop answering. */
  bootMs = 0;

  private readonly runDir: string;
  private readonly channel: CommandChannel;
  private readonly started = Date.now();
  private qemu: ChildProcess | undefined;
  private qemuExit: string | undefined;
  private qmp: Qmp | undefined;
  private ownNetns = false;
  private unregister: () => void = () => {};
  private stopped = false;
  private pcapSeq = 0;

  constructor(
    private readonly opts: GuestOptions,
    readonly image: RigImage,
    readonly accel: Accel,
  ) {
    this.name = opts.name;
    this.hostname = opts.hostname ?? opts.name;
    this.address = opts.ip?.split('/')[0];
    if (opts.ip && (opts.net ?? { kind: 'none' }).kind === 'none') {
      throw new Error(`guest ${opts.name}: ip ${opts.ip} needs a NIC (net: udpLink() end or { kind: 'tap' })`);
    }
    this.artifactsDir = join(ARTIFACTS_ROOT, opts.test ?? 'adhoc');
    mkdirSync(this.artifactsDir, { recursive: true });
    this.runDir = makeRunDir();
    this.channel = new CommandChannel(join(this.runDir, 'share'));
  }

  get serialLogPath(): string {
    return this.artifact('serial.log');
  }

  /** The serial console so far: kernel messages and the guest's boot output. */
  serialLog(): string {
    try {
      return readFileSync(this.serialLogPath, 'utf8');
    } catch {
      return '';
    }
  }

  /** @internal Spawns qemu and waits for the guest's command loop. */
  async boot(): Promise<void> {
    const net = this.opts.net ?? { kind: 'none' };
    let tap: string | undefined;
    if (net.kind === 'tap') {
      this.ownNetns = !net.netns;
      this.netns = net.netns ?? (await Netns.create(this.name));
      tap = await this.netns.addTap(net.hostCidr);
    }
    const args = this.qemuArgs(net, tap);
    writeFileSync(this.artifact('qemu-cmdline.txt'), `${QEMU} ${args.join(' ')}\n`);
    // setpriv --pdeathsig: qemu dies with the test process even when that is SIGKILLed.
    // `ip netns exec` execs in place, so the signal setting reaches qemu in both modes.
    const argv = ['setpriv', '--pdeathsig', 'KILL', '--', QEMU, ...args];
    const [cmd, cmdArgs] = this.netns ? this.netns.argv(argv[0]!, argv.slice(1)) : [argv[0]!, argv.slice(1)];
    const logFd = openSync(this.artifact('qemu.log'), 'w');
    const q = spawn(cmd, cmdArgs, { stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    this.qemu = q;
    q.on('error', (err) => {
      this.qemuExit ??= `could not start qemu: ${err.message}`;
    });
    q.on('exit', (code, signal) => {
      this.qemuExit ??= `qemu exited (${signal ?? `code ${code}`})`;
    });
    this.unregister = registerCleanup(() => {
      if (this.qemu?.exitCode === null && this.qemu.signalCode === null) this.qemu.kill('SIGKILL');
      rmSync(this.runDir, { recursive: true, force: true });
    });

    this.qmp = await Qmp.connect(join(this.runDir, 'qmp.sock'), 30_000).catch((err: Error) => {
      throw this.bootError(`QMP unavailable: ${err.message}`);
    });
    const deadline = Date.now() + (this.opts.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS);
    const ready = join(this.channel.shareDir, 'ready');
    for (;;) {
      if (existsSync(ready)) break;
      const fatal = /UDRBD-RIG-FATAL: (.*)/.exec(this.serialLog());
      if (fatal) throw this.bootError(`guest init failed: ${fatal[1]}`);
      if (this.qemuExit) throw this.bootError(this.qemuExit);
      if (Date.now() > deadline) throw this.bootError('boot timed out');
      await sleep(50);
    }
    this.bootMs = Date.now() - this.started;
    this.transcript(`### [${this.name} +${this.elapsed()}s] booted (${this.accel}) in ${this.bootMs} ms\n${readFileSync(ready, 'utf8')}\n`);
  }

  private qemuArgs(net: NetSpec, tap: string | undefined): string[] {
    const cmdline = ['console=ttyS0', 'panic=-1', `udrbd.hostname=${this.hostname}`];
    if (this.opts.ip) cmdline.push(`udrbd.ip=${this.opts.ip}`);
    cmdline.push(...(this.opts.extraKernelArgs ?? []));
    const args = [
      '-name', `guest=${this.name}`, '-nodefaults', '-no-user-config', '-display', 'none',
      // A guest panic or poweroff ends qemu instead of rebooting into the same state.
      '-no-reboot',
      '-M', 'pc', ...accelArgs(this.accel),
      '-m', String(this.opts.memMiB ?? 512), '-smp', String(this.opts.cpus ?? 1),
      '-kernel', this.image.kernel, '-initrd', this.image.initrd, '-append', cmdline.join(' '),
      '-serial', `file:${this.serialLogPath}`,
      '-qmp', `unix:${join(this.runDir, 'qmp.sock')},server=on,wait=off`,
      '-pidfile', join(this.runDir, 'qemu.pid'),
      '-virtfs', `local,path=${this.channel.shareDir},mount_tag=share,security_model=none,id=share`,
    ];
    for (const d of this.opts.disks ?? []) {
      prepareDisk(d);
      // cache=unsafe ignores guest flushes: the host page cache still holds every write, so
      // killing qemu (a crash test) loses nothing; only a host crash would.
      args.push('-drive', `file=${d.path},format=raw,if=virtio,cache=unsafe`);
    }
    args.push(...netArgs(net, macFor(this.address, this.name), tap));
    if (this.opts.pcap && net.kind !== 'none') {
      args.push('-object', `filter-dump,id=pcap0,netdev=n0,file=${this.artifact('pcap')}`);
    }
    return args;
  }

  private serialTail(lines = 25): string {
    return this.serialLog().split('\n').slice(-lines).join('\n');
  }

  private bootError(reason: string): Error {
    const tail = this.serialTail();
    let qemuLog = '';
    try {
      qemuLog = readFileSync(this.artifact('qemu.log'), 'utf8').trim();
    } catch {
      // No log yet.
    }
    return new Error(
      `kernel rig: guest ${this.name} (${this.accel}) did not come up: ${reason}` +
        (qemuLog ? `\n--- qemu ---\n${qemuLog}` : '') +
        `\n--- serial console (last lines, full log: ${this.serialLogPath}) ---\n${tail}`,
    );
  }

  /** Runs a shell script in the guest (busybox sh, cwd /root). */
  run(cmd: string, opts: RunOptions = {}): Promise<ExecResult> {
    return this.exec(cmd, opts, cmd);
  }

  /** run(), with `shown` standing for the script in the transcript. */
  private async exec(cmd: string, opts: RunOptions, shown: string): Promise<ExecResult> {
    if (this.stopped) throw new Error(`guest ${this.name}: already stopped`);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
    const t0 = this.elapsed();
    const n = this.channel.submit(cmd);
    const res = await this.channel.wait(n, timeoutMs, () =>
      this.qemuExit
        ? `guest ${this.name}: ${this.qemuExit} while running: ${cmd}\n--- serial console (last lines) ---\n${this.serialTail()}`
        : undefined,
    );
    if (!res) {
      const p = this.channel.partial(n);
      // Kill the command's whole session so it cannot act later in the test.
      this.channel.submit(`p=$(cat /share/out/${n}.pid 2>/dev/null) && kill -9 -$p`);
      this.transcript(`### [${this.name} +${t0}s] $ ${shown}\n${p.stdout}${p.stderr}### TIMEOUT after ${timeoutMs} ms\n\n`);
      throw new Error(
        `guest ${this.name}: command timed out after ${timeoutMs} ms${p.started ? '' : ' (never started: is the guest alive?)'}: ${cmd}` +
          `\n--- stdout so far ---\n${p.stdout}\n--- stderr so far ---\n${p.stderr}`,
      );
    }
    this.transcript(`### [${this.name} +${t0}s] $ ${shown}\n${res.stdout}${res.stderr}### rc=${res.code}\n\n`);
    if (opts.check && res.code !== 0) {
      throw new Error(`guest ${this.name}: exit ${res.code}: ${cmd}\n--- stdout ---\n${res.stdout}\n--- stderr ---\n${res.stderr}`);
    }
    return res;
  }

  /** Writes a file in the guest (through the share, so any content is safe). */
  async writeFile(guestPath: string, content: string | Buffer): Promise<void> {
    const name = `file-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    mkdirSync(join(this.channel.shareDir, 'files'), { recursive: true });
    writeFileSync(join(this.channel.shareDir, 'files', name), content);
    const text = Buffer.isBuffer(content) ? `(${content.length} bytes)\n` : content;
    // The transcript shows the file like a heredoc, not the mv that installs it.
    await this.exec(`mkdir -p "$(dirname '${guestPath}')" && mv /share/files/${name} '${guestPath}'`, { check: true },
      `cat > ${guestPath} <<'EOF'\n${text}${text.endsWith('\n') ? '' : '\n'}EOF`);
  }

  /** Plugs or pulls the guest's network cable (QMP set_link on netdev n0). */
  async setLink(up: boolean): Promise<void> {
    await this.requireQmp().execute('set_link', { name: 'n0', up });
    this.transcript(`### [${this.name} +${this.elapsed()}s] set_link n0 ${up ? 'on' : 'off'}\n\n`);
  }

  /** Starts recording the NIC's traffic (both directions); returns the pcap path. */
  async startPcap(file?: string): Promise<string> {
    const path = file ?? this.artifact(`${++this.pcapSeq}.pcap`);
    await this.requireQmp().execute('object-add', { 'qom-type': 'filter-dump', id: 'pcaprt', netdev: 'n0', file: path });
    return path;
  }

  async stopPcap(): Promise<void> {
    await this.requireQmp().execute('object-del', { id: 'pcaprt' });
  }

  /** Saves /proc/drbd and the kernel log as <name>.proc-drbd.<label>.txt / .dmesg.<label>.txt. */
  async snapshot(label: string, timeoutMs = 10_000): Promise<void> {
    const drbd = await this.run('cat /proc/drbd', { timeoutMs });
    writeFileSync(this.artifact(`proc-drbd.${label}.txt`), drbd.stdout + drbd.stderr);
    const dmesg = await this.run('dmesg', { timeoutMs });
    writeFileSync(this.artifact(`dmesg.${label}.txt`), dmesg.stdout + dmesg.stderr);
  }

  /** argv running cmd inside this guest's namespace (tap mode), for spawning udrbd there. */
  nsArgv(cmd: string, args: readonly string[] = []): [string, string[]] {
    return this.requireNetns().argv(cmd, args);
  }

  nsSpawn(cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): ChildProcess {
    return this.requireNetns().spawn(cmd, args, opts);
  }

  nsExec(cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.requireNetns().exec(cmd, args, opts);
  }

  /**
   * Saves final artifacts (unless collect is false or the guest is unresponsive), quits qemu
   * over QMP, kills it if it lingers, and removes the run directory and an own namespace.
   */
  async stop(opts: { timeoutMs?: number; collect?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    const alive = (): boolean => !!this.qemu && this.qemu.exitCode === null && this.qemu.signalCode === null;
    if (opts.collect !== false && alive()) {
      try {
        await this.snapshot('final', 5_000);
      } catch {
        // An unresponsive guest still has its serial log; don't let collection block teardown.
      }
    }
    this.stopped = true;
    const timeoutMs = opts.timeoutMs ?? 5_000;
    if (alive()) {
      const exited = new Promise<void>((r) => this.qemu!.once('exit', () => r()));
      try {
        await this.qmp?.execute('quit', undefined, timeoutMs);
      } catch {
        // Fall through to the kill below.
      }
      const timer = sleep(timeoutMs).then(() => 'timeout' as const);
      if ((await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout') {
        this.qemu!.kill('SIGKILL');
        await exited;
      }
    }
    this.qmp?.close();
    this.unregister();
    rmSync(this.runDir, { recursive: true, force: true });
    if (this.ownNetns) await this.netns?.destroy();
  }

  private requireQmp(): Qmp {
    if (!this.qmp || this.stopped) throw new Error(`guest ${this.name}: not running`);
    return this.qmp;
  }

  private requireNetns(): Netns {
    if (!this.netns) throw new Error(`guest ${this.name}: no network namespace (use net: { kind: 'tap' })`);
    return this.netns;
  }

  private artifact(suffix: string): string {
    return join(this.artifactsDir, `${this.name}.${suffix}`);
  }

  /** Commands and outputs in the format of spec/kernel-captures (### [node +T s] $ cmd). */
  private transcript(text: string): void {
    appendFileSync(this.artifact('commands.log'), text);
  }

  private elapsed(): string {
    return ((Date.now() - this.started) / 1000).toFixed(1);
  }
}

function prepareDisk(d: DiskSpec): void {
  const bytes = d.sizeMiB * 1024 * 1024;
  if (d.keep && existsSync(d.path)) {
    if (statSync(d.path).size < bytes) throw new Error(`disk ${d.path} is smaller than ${d.sizeMiB} MiB`);
    return;
  }
  // Emptied first so no old contents survive, then extended sparsely (instant, no space used).
  writeFileSync(d.path, '');
  truncateSync(d.path, bytes);
}
