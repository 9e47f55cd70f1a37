// The initial sync, watched as the seed watches it (`watch cat /proc/drbd`): on a terminal the
// frame of `udrbd status --watch` (status text plus a wide progress bar) is redrawn in place
// below the narration; without a terminal (a log, a test) a few plain lines every 2 s.
import { fetchStatus, watchFrame } from '../udrbd-status.js';
import { visibleLength } from '../../status/index.js';
import type { DemoNode, Lab } from './lab.js';
import type { Narrator } from './narrator.js';

const HOME_CLEAR = '\x1b[H\x1b[2J';
const TTY_INTERVAL_MS = 250;
const PLAIN_INTERVAL_MS = 2_000;
/** After this long without any sync state, the sync is not coming (the peer went away). */
const NO_START_MS = 8_000;

const IN_SYNC = /cs:Connected ro:\S+ ds:UpToDate\/UpToDate/;
const SYNCING = /cs:(SyncSource|SyncTarget|PausedSync[ST]|WFBitMap[ST]|WFSyncUUID)/;

export interface SyncOutcome {
  ok: boolean;
  seconds: number;
  /** why it is not ok */
  reason?: string;
}

/**
 * The lines of one live frame, none wider than the terminal: a redraw moves the cursor up by
 * the number of lines drawn, which is only right when no line wraps. The version header (it
 * never changes and was shown just before) and the counters line (too wide for 80 columns)
 * are left out; the sync lines' leading tab is expanded so that its width is known.
 */
export function fitFrame(frame: string, columns: number): string[] {
  return frame
    .replace(HOME_CLEAR, '')
    .replace(/\n$/, '')
    .split('\n')
    .filter((l) => !/^(version|GIT-hash|srcversion):|^\s+ns:/.test(l))
    .map((l) => {
      const plain = l.replace(/^\t/, ' '.repeat(8));
      // Only escape-free lines can be too wide: the bar is drawn for columns - 1.
      return visibleLength(plain) < columns ? plain : plain.slice(0, columns - 1);
    });
}

export async function watchSync(lab: Lab, n: Narrator, source: DemoNode, target: DemoNode, timeoutMs: number): Promise<SyncOutcome> {
  const t0 = Date.now();
  let drawnRows = 0;
  let lastPlain = '';
  let lastPlainAt = -Infinity;
  let sawSync = false;
  const elapsed = () => (Date.now() - t0) / 1000;

  for (;;) {
    const src = lab.stateLine(source);
    const tgt = lab.stateLine(target);
    const done = IN_SYNC.test(src) && IN_SYNC.test(tgt);
    sawSync ||= SYNCING.test(src);

    if (n.isTTY) {
      let frame: string;
      try {
        frame = watchFrame(await lab.abortable(fetchStatus(source.runDir)), n.columns - 1, true);
      } catch (e) {
        frame = `${lab.status(source)}\n(${(e as Error).message})\n`;
      }
      const lines = fitFrame(frame, n.columns);
      // Back to the first line of the previous frame, clear to the end of the screen, redraw.
      n.out.write(`${drawnRows ? `\x1b[${drawnRows}F\x1b[J` : ''}${lines.join('\n')}\n`);
      drawnRows = lines.length;
    } else if (done || Date.now() - lastPlainAt >= PLAIN_INTERVAL_MS) {
      // The device's lines of the status file, minus the counters line: state and bar.
      const text = lab
        .status(source)
        .split('\n')
        .filter((l) => /^\s*\d+: cs:|sync'ed|finish:/.test(l))
        .join('\n');
      if (text !== lastPlain) n.out.write(`[${elapsed().toFixed(0).padStart(3)} s]\n${text}\n`);
      lastPlain = text;
      lastPlainAt = Date.now();
    }

    if (done) {
      n.out.write('\n');
      return { ok: true, seconds: elapsed() };
    }
    if (!sawSync && Date.now() - t0 > NO_START_MS && !SYNCING.test(tgt)) {
      n.out.write('\n');
      return { ok: false, seconds: elapsed(), reason: `no sync started; ${source.name}:${src.trim() ? src : ' (no status)'} / ${target.name}:${tgt}` };
    }
    if (Date.now() - t0 > timeoutMs) {
      n.out.write('\n');
      return { ok: false, seconds: elapsed(), reason: `not UpToDate/UpToDate after ${timeoutMs / 1000} s: ${src.trim()}` };
    }
    await lab.sleep(n.isTTY ? TTY_INTERVAL_MS : 200);
  }
}
