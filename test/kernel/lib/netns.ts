// Network namespaces for kernel <-> host-process tests. The guest's NIC is a tap device
// inside a namespace this module creates; the tap carries the host-side address, and
// processes started through the namespace (udrbd daemons) reach the guest over it.
// Nothing here touches the host's own interfaces or addresses.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { registerCleanup } from './cleanup.js';
import { pidAlive, run, runOk, type ExecOptions, type ExecResult } from './proc.js';

const PREFIX = 'udrbd-rig-';
let counter = 0;

export class Netns {
  private unregister: () => void;
  private taps = 0;
  private destroyed = false;

  private constructor(readonly name: string) {
    this.unregister = registerCleanup(() => destroySync(name));
  }

  /** Creates a namespace named udrbd-rig-<pid>-<n>[-tag] with loopback up. */
  static async create(tag = ''): Promise<Netns> {
    requireRoot();
    const safeTag = tag.replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 24);
    const name = `${PREFIX}${process.pid}-${++counter}${safeTag ? `-${safeTag}` : ''}`;
    await runOk('ip', ['netns', 'add', name]);
    const ns = new Netns(name);
    try {
      await runOk('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    } catch (err) {
      await ns.destroy();
      throw err;
    }
    return ns;
  }

  /** Adds a tap device (for one qemu NIC) with the given host-side address, e.g. 10.99.0.254/24. */
  async addTap(hostCidr?: string): Promise<string> {
    const tap = `rigtap${this.taps++}`;
    await runOk('ip', ['-n', this.name, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
    // Like the guest's eth0: no IPv6 on the test link, so pcaps hold only the test's traffic.
    await runOk('ip', ['netns', 'exec', this.name, 'sh', '-c', `echo 1 > /proc/sys/net/ipv6/conf/${tap}/disable_ipv6`]);
    if (hostCidr) await runOk('ip', ['-n', this.name, 'addr', 'add', hostCidr, 'dev', tap]);
    await runOk('ip', ['-n', this.name, 'link', 'set', tap, 'up']);
    return tap;
  }

  /** argv that runs cmd inside the namespace: ['ip', ['netns', 'exec', NAME, cmd, ...args]]. */
  argv(cmd: string, args: readonly string[] = []): [string, string[]] {
    return ['ip', ['netns', 'exec', this.name, cmd, ...args]];
  }

  /** Starts a process inside the namespace (e.g. a udrbd daemon). The caller owns it. */
  spawn(cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): ChildProcess {
    const [c, a] = this.argv(cmd, args);
    return spawn(c, a, opts);
  }

  /** Runs a command inside the namespace to completion (default timeout 30 s). */
  exec(cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    const [c, a] = this.argv(cmd, args);
    return run(c, a, opts);
  }

  /** Kills every process still inside the namespace, then deletes it. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    destroySync(this.name);
    this.unregister();
  }
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('kernel rig: network namespaces and tap devices need root (run the tests as root)');
  }
}

function destroySync(name: string): void {
  if (!existsSync(`/run/netns/${name}`)) return;
  try {
    // Every process in the namespace was started by the rig or by the test through it.
    const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  } catch {
    // `ip netns pids` failing means nothing is left to kill.
  }
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // Deleted concurrently.
  }
}

/** Deletes namespaces left by test processes that died without cleaning up (e.g. SIGKILL). */
export function sweepStaleNetns(): void {
  let names: string[];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^udrbd-rig-(\d+)-/.exec(name);
    if (m && !pidAlive(Number(m[1]))) destroySync(name);
  }
}
