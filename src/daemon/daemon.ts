// udrbdd: hosts every resource of this node, as the kernel module does. It owns the run
// directory, answers the control socket and keeps the status file current.
import { mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:net';
import { listenControl } from './control-server.js';
import type { ControlRequest, ControlResponse } from './control-protocol.js';
import { takePidFile } from './pid-file.js';
import { runFiles } from './run-dir.js';
import { writeAtomically } from './status-file.js';
import { Node } from './node.js';
import { DAEMON_COMMANDS, type DaemonCommand } from './commands.js';
import type { Logger } from '../log.js';

/** The status file is rewritten at least this often (when its text changed). */
const STATUS_INTERVAL_MS = 1000;

type Reply = Omit<ControlResponse, 'id'>;

export class Daemon {
  private server: Server | undefined;
  private releasePid: (() => void) | undefined;
  private stopped: Promise<void>;
  private resolveStopped!: () => void;
  readonly files: ReturnType<typeof runFiles>;
  readonly node: Node;
  private statusTimer: NodeJS.Timeout | undefined;
  private lastStatus = '';

  constructor(
    readonly runDir: string,
    private readonly log: Logger,
  ) {
    this.files = runFiles(runDir);
    this.stopped = new Promise((r) => (this.resolveStopped = r));
    this.node = new Node(log, (minor) => this.files.nbdSocket(minor), (minor) => join(runDir, `blockdev${minor}`), () => this.refreshStatus());
  }

  async start(): Promise<void> {
    mkdirSync(this.runDir, { recursive: true, mode: 0o700 });
    this.releasePid = takePidFile(this.files.pidFile);
    this.server = await listenControl(this.files.controlSocket, (req) => this.handle(req), this.log);
    this.refreshStatus();
    // Counters and sync progress move without state changes: keep the file current.
    this.statusTimer = setInterval(() => this.refreshStatus(), STATUS_INTERVAL_MS);
    this.log.info({ runDir: this.runDir }, 'udrbdd started');
  }

  /** Resolves when the daemon has shut down. */
  whenStopped(): Promise<void> {
    return this.stopped;
  }

  refreshStatus(): void {
    if (!this.server) return;
    const text = this.node.status().procDrbd;
    if (text === this.lastStatus) return;
    this.lastStatus = text;
    writeAtomically(this.files.statusFile, text);
  }

  private async handle(req: ControlRequest): Promise<Reply> {
    switch (req.cmd) {
      case 'ping':
        return { exitCode: 0, result: { pid: process.pid } };
      case 'shutdown':
        setImmediate(() => void this.stop());
        return { exitCode: 0 };
      default:
        if (!(DAEMON_COMMANDS as readonly string[]).includes(req.cmd)) {
          return { exitCode: 20, stderr: `udrbdd: unknown command '${req.cmd}'\n` };
        }
        return this.node.handle(req.cmd as DaemonCommand, req.args as never);
    }
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    this.server = undefined;
    if (this.statusTimer) clearInterval(this.statusTimer);
    await new Promise<void>((r) => server.close(() => r()));
    // Like unloading the module with resources up: the peer sees a crash; the meta-data
    // stays marked in use, so the next `up` replays the activity log.
    await this.node.shutdown();
    for (const f of [this.files.controlSocket, this.files.statusFile]) {
      try {
        unlinkSync(f);
      } catch {
        /* already gone */
      }
    }
    this.releasePid?.();
    this.log.info('udrbdd stopped');
    this.resolveStopped();
  }
}
