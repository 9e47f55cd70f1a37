// The control socket speaks JSON lines: one request per line from drbdadm (or udrbd), one
// response line back. Requests mirror drbdsetup's commands: the CLI resolves the
// configuration and sends fully-resolved settings, as drbdadm does with drbdsetup.

export interface ControlRequest {
  id: number;
  /** drbdsetup-style command name, e.g. "attach", "connect", "primary". */
  cmd: string;
  /** Command arguments: resource name, minor, resolved settings, options. */
  args: Record<string, unknown>;
}

export interface ControlResponse {
  id: number;
  /** drbdsetup's exit code: 0 success, 17 no UpToDate data, 11 other state-change failures, ... */
  exitCode: number;
  stdout?: string;
  stderr?: string;
  /** Machine-readable result for commands that return data (status --json, get-gi). */
  result?: unknown;
}

/** Splits a byte stream into lines; keeps the tail of a partial line for the next chunk. */
export class LineSplitter {
  private tail = '';
  push(chunk: string): string[] {
    const parts = (this.tail + chunk).split('\n');
    this.tail = parts.pop() ?? '';
    return parts.filter((l) => l.length > 0);
  }
}
