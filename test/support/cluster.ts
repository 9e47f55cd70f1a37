// Two (or more) udrbd nodes on this machine for integration tests: each with its own
// hostname, run directory, backing file and loopback address, sharing one drbd.conf.
import { mkdtempSync, rmSync, truncateSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestNode, ensureBuilt, waitFor } from './node-env.js';

export interface ClusterOptions {
  sizeMiB?: number;
  /** Extra lines for the resource's net section. */
  net?: string;
  /** Extra lines for the resource's disk section. */
  disk?: string;
  /** Extra lines for the resource's handlers section. */
  handlers?: string;
  protocol?: 'A' | 'B' | 'C';
  /** Device path per host (default /dev/drbd0 everywhere). */
  devices?: Record<string, string>;
}

let portSeq = 0;

/** A port range per test process, so parallel runs on one machine do not collide. */
function nextPort(): number {
  return 17000 + ((process.pid * 7) % 800) * 10 + (portSeq++ % 10);
}

export class Cluster {
  readonly dir: string;
  readonly nodes: TestNode[];
  readonly config: string;
  readonly port: number;

  constructor(readonly names: string[] = ['alpha', 'beta'], readonly opts: ClusterOptions = {}) {
    ensureBuilt();
    this.dir = mkdtempSync(join(tmpdir(), 'udrbd-cluster-'));
    this.config = join(this.dir, 'drbd.conf');
    this.port = nextPort();
    const size = (opts.sizeMiB ?? 64) << 20;
    this.nodes = names.map((n) => {
      const disk = this.disk(n);
      writeFileSync(disk, '');
      truncateSync(disk, size);
      return new TestNode(n, this.config, join(this.dir, `run-${n}`));
    });
    this.writeConfig();
  }

  disk(name: string): string {
    return join(this.dir, `${name}.img`);
  }

  address(i: number): string {
    return `127.0.0.${i + 1}`;
  }

  writeConfig(opts: ClusterOptions = this.opts): void {
    const hosts = this.names
      .map((n, i) => `  on ${n} {\n    device ${opts.devices?.[n] ?? '/dev/drbd0'};\n    disk ${this.disk(n)};\n    address ${this.address(i)}:${this.port};\n    meta-disk internal;\n  }`)
      .join('\n');
    writeFileSync(
      this.config,
      `global { usage-count no; disable-ip-verification; }
common { protocol ${opts.protocol ?? 'C'}; }
resource r0 {
  net {
    connect-int 1;
    ping-int 2;
    ping-timeout 10;
${opts.net ?? ''}
  }
  disk {
${opts.disk ?? ''}
  }
  handlers {
${opts.handlers ?? ''}
  }
${hosts}
}
`,
    );
  }

  node(name: string): TestNode {
    const n = this.nodes.find((x) => x.hostname === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** The state line of the node's minor in its status file ('' when absent). */
  stateLine(name: string): string {
    const minor = Number(/drbd(\d+)$/.exec(this.opts.devices?.[name] ?? '/dev/drbd0')![1]);
    const prefix = `${String(minor).padStart(2)}:`;
    return this.node(name).status().split('\n').find((l) => l.startsWith(prefix)) ?? '';
  }

  async waitState(name: string, re: RegExp, timeoutMs = 30_000): Promise<string> {
    return waitFor(`${name} state ${re}`, () => {
      const l = this.stateLine(name);
      return re.test(l) ? l : '';
    }, timeoutMs);
  }

  /** The kernel-style lines the node's daemon logged (pino's msg fields). */
  log(name: string): string[] {
    const f = join(this.node(name).runDir, 'udrbdd.log');
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { msg?: string }).msg ?? '');
  }

  async destroy(): Promise<void> {
    for (const n of this.nodes) await n.stopDaemon();
    if (!process.env.UDRBD_KEEP_TEST_DIRS) rmSync(this.dir, { recursive: true, force: true });
  }
}
