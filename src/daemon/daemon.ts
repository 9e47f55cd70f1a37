// udrbdd: hosts every resource of this node, as the kernel module does. It owns the run
// directory, answers the control socket and keeps the status file current.
import { mkdirSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:net';
import { listenControl } from './control-server.js';
import type { ControlRequest, ControlResponse } from './control-protocol.js';
import { takePidFile } from './pid-file.js';
import { runFiles } from './run-dir.js';
import { writeAtomically } from './status-file.js';
import type { Logger } from '../log.js';

type Reply = Omit<ControlResponse, 'id'>;

export class Daemon {
  private server: Server | undefined;
  private releasePid: (() => void) | undefined;
  private stopped: Promise<void>;
  private resolveStopped!: () => void;
  readonly files: ReturnType<typeof runFiles>;

  constructor(
    readonly runDir: string,
    private readonly log: Logger,
    private readonly renderStatus: () => string,
  ) {
    this.files = runFiles(runDir);
    this.stopped = new Promise((r) => (this.resolveStopped = r));
  }

  async start(): Promise<void> {
    mkdirSync(this.runDir, { recursive: true, mode: 0o700 });
    this.releasePid = takePidFile(this.files.pidFile);
    this.server = await listenControl(this.files.controlSocket, (req) => this.handle(req), this.log);
    this.refreshStatus();
    this.log.info({ runDir: this.runDir }, 'udrbdd started');
  }

  /** Resolves when the daemon has shut down. */
  whenStopped(): Promise<void> {
    return this.stopped;
  }

  refreshStatus(): void {
    writeAtomically(this.files.statusFile, this.renderStatus());
  }

  private async handle(req: ControlRequest): Promise<Reply> {
    switch (req.cmd) {
      case 'ping':
        return { exitCode: 0, result: { pid: process.pid } };
      case 'shutdown':
        setImmediate(() => void this.stop());
        return { exitCode: 0 };
      default:
        return { exitCode: 20, stderr: `udrbdd: unknown command '${req.cmd}'` };
    }
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    this.server = undefined;
    await new Promise<void>((r) => server.close(() => r()));
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
