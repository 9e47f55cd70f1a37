// A stand-in for udrbdd in unit tests: a real unix-socket control server in the test's run
// directory that records every request and answers from a script. It decides nothing about
// states; each test says what the "daemon" answers.
import { createServer, type Server } from 'node:net';
import { LineSplitter, type ControlRequest, type ControlResponse } from '../../../src/daemon/control-protocol.js';
import { runFiles } from '../../../src/daemon/run-dir.js';

export type Answer = Omit<ControlResponse, 'id'>;
export type Script = (cmd: string, args: Record<string, unknown>) => Answer | undefined;

export interface Recorded {
  cmd: string;
  args: Record<string, unknown>;
}

export class ControlDouble {
  readonly requests: Recorded[] = [];
  private server: Server | undefined;
  script: Script = () => undefined;

  constructor(readonly runDir: string) {}

  async start(): Promise<this> {
    this.server = createServer((sock) => {
      const lines = new LineSplitter();
      sock.setEncoding('utf8');
      sock.on('data', (chunk: string) => {
        for (const line of lines.push(chunk)) {
          const req = JSON.parse(line) as ControlRequest;
          // ping is the client's liveness probe, not a drbdsetup command: not recorded.
          if (req.cmd !== 'ping') this.requests.push({ cmd: req.cmd, args: req.args });
          const answer = this.script(req.cmd, req.args) ?? { exitCode: 0 };
          sock.write(JSON.stringify({ id: req.id, ...answer }) + '\n');
        }
      });
      sock.on('error', () => sock.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(runFiles(this.runDir).controlSocket, () => resolve());
    });
    return this;
  }

  /** The commands received, in order, with their first identifying argument. */
  sequence(): string[] {
    return this.requests.map(({ cmd, args }) => {
      const id = args.minor ?? args.resource;
      return id === undefined ? cmd : `${cmd} ${String(id)}`;
    });
  }

  /** Answers `cmd` (optionally only for one minor/resource) with `answer`, everything else with 0. */
  failOn(cmd: string, answer: Answer, id?: string | number): void {
    this.script = (c, a) => (c === cmd && (id === undefined || a.minor === id || a.resource === id) ? answer : undefined);
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
