// `udrbd status [--json] [--watch]`: the node's state from udrbdd's `status` command, as the
// /proc/drbd text, as JSON, or redrawn live on a terminal.
import { DaemonNotRunning, request } from '../daemon/control-client.js';
import type { NodeStatus } from '../daemon/commands.js';
import { renderStatusJson, renderWatchFrame, UDRBD_PROC_HEADER } from '../status/index.js';

/** Where status goes: a stream that may be a terminal. */
export interface StatusOutput {
  write(s: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface StatusOptions {
  json: boolean;
  watch: boolean;
  /** Redraw interval of --watch. */
  intervalMs: number;
  /** --watch ends when this resolves (Ctrl-C in real use); asked only when watching. */
  until(): Promise<void>;
}

/** Exit code when udrbdd is not there to ask. */
export const EXIT_NO_DAEMON = 3;

export async function fetchStatus(runDir: string): Promise<NodeStatus> {
  const r = await request(runDir, 'status', {});
  if (r.exitCode !== 0 || r.result === undefined) throw new Error(r.stderr?.trim() || `udrbdd answered status with exit code ${r.exitCode}`);
  return r.result as NodeStatus;
}

/** One --watch frame: /proc/drbd plus a wide progress bar per syncing device. */
export function watchFrame(s: NodeStatus, width: number, ansi: boolean): string {
  return renderWatchFrame(
    { header: UDRBD_PROC_HEADER, devices: s.devices.map((d) => d.device) },
    { width, ansi, resourceByMinor: new Map(s.devices.map((d) => [d.device.minor, d.resource])) },
  );
}

// Alternate screen and hidden cursor while watching; both undone on the way out, so the
// terminal comes back as it was.
const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';

async function watch(runDir: string, out: StatusOutput, opts: StatusOptions): Promise<number> {
  let stopped = false;
  const until = opts.until();
  void until.then(() => (stopped = true));
  out.write(ENTER);
  try {
    while (!stopped) {
      let frame: string;
      try {
        frame = watchFrame(await fetchStatus(runDir), out.columns ?? 80, true);
      } catch (e) {
        // The daemon may come and go while we watch; say so and keep polling.
        frame = `\x1b[H\x1b[2J${e instanceof Error ? e.message : String(e)}\n`;
      }
      if (stopped) break;
      out.write(frame);
      await Promise.race([until, new Promise((r) => setTimeout(r, opts.intervalMs))]);
    }
  } finally {
    out.write(LEAVE);
  }
  return 0;
}

export async function runStatus(runDir: string, out: StatusOutput, err: StatusOutput, opts: StatusOptions): Promise<number> {
  if (opts.watch && out.isTTY) return watch(runDir, out, opts);
  let s: NodeStatus;
  try {
    s = await fetchStatus(runDir);
  } catch (e) {
    err.write(`udrbd: ${e instanceof Error ? e.message : String(e)}\n`);
    return e instanceof DaemonNotRunning ? EXIT_NO_DAEMON : 1;
  }
  if (opts.json) out.write(renderStatusJson(s.devices));
  else if (opts.watch) out.write(watchFrame(s, out.columns ?? 80, false));
  else out.write(s.procDrbd);
  return 0;
}
