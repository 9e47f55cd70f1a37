// One frame of `udrbd status --watch`: the /proc/drbd text followed, for every device in a
// resync or verify, by a progress bar as wide as the terminal and a line of figures. Pure: the
// caller supplies the width and decides whether ANSI is wanted (a TTY) and repaints every tick.
//
// The wide bar shows the exact fraction done ((total − left) / total) rather than the kernel's
// coarse per-mille (which moves in 1/16 steps on a 64 MiB device); the /proc/drbd lines above
// keep the kernel's figures.

import { groupThousands } from './format.js';
import { isRequestingSide, isSyncState, isVerify } from './names.js';
import { type ProcDrbdInput, renderProcDrbd } from './proc-drbd.js';
import { formatHms, perMilleDone, syncFigures } from './progress.js';

export interface WatchOptions {
  /** terminal columns */
  width: number;
  /** colour the bar and clear the screen before the frame */
  ansi: boolean;
  /** resource name per minor, shown in the bar's label */
  resourceByMinor?: ReadonlyMap<number, string>;
}

const HOME_CLEAR = '\x1b[H\x1b[2J';
const GREEN = '\x1b[32m';
const YELLOW = '\x1b[33m';
const BOLD = '\x1b[1m';
const RESET = '\x1b[0m';

/** Visible width of a line (ANSI escapes removed). */
export function visibleLength(line: string): number {
  return line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').length;
}

function clip(s: string, width: number): string {
  return s.length > width ? s.slice(0, Math.max(0, width)) : s;
}

/** `[#####>.....]` of exactly `inner` cells inside the brackets. */
export function wideBar(fraction: number, inner: number, ansi: boolean): string {
  const f = Math.min(1, Math.max(0, fraction));
  const filled = Math.floor(f * inner);
  const head = filled < inner ? 1 : 0;
  const rest = inner - filled - head;
  const done = '='.repeat(filled) + (head ? '>' : '');
  return ansi ? `[${GREEN}${done}${RESET}${'.'.repeat(rest)}]` : `[${done}${'.'.repeat(rest)}]`;
}

function progressBlock(input: ProcDrbdInput['devices'][number], opts: WatchOptions): string[] {
  const s = input.sync;
  if (!s || !isSyncState(input.cs)) return [];
  const paused = input.cs === 'PausedSyncS' || input.cs === 'PausedSyncT';
  const { leftBits } = perMilleDone(s.totalBits, s.leftBits);
  const fraction = s.totalBits === 0 ? 1 : (s.totalBits - leftBits) / s.totalBits;
  const pct = `${(Math.floor(fraction * 1000) / 10).toFixed(1)}%`;
  const name = opts.resourceByMinor?.get(input.minor);
  const label = `drbd${input.minor}${name ? ` ${name}` : ''} ${input.cs}`;
  const width = Math.max(1, Math.floor(opts.width));

  // label + ' ' + [bar] + ' ' + pct; the bar gets whatever is left, or is dropped below 4 cells.
  const inner = width - label.length - pct.length - 4;
  const head =
    inner >= 4
      ? `${opts.ansi ? BOLD + label + RESET : label} ${wideBar(fraction, inner, opts.ansi)} ${pct}`
      : clip(`${label} ${pct}`, width);

  const figures: string[] = [
    `${isVerify(input.cs) ? 'verified' : 'synced'} ${groupThousands((s.totalBits - leftBits) * 4)} of ${groupThousands(s.totalBits * 4)} KiB`,
  ];
  let stalled = false;
  if (paused) {
    figures.push('paused');
  } else {
    const f = syncFigures(s);
    stalled = f.stalled;
    figures.push(`finish ${formatHms(f.finishSeconds)}`);
    figures.push(`speed ${groupThousands(f.speedKiBps)} (${groupThousands(f.averageKiBps)}) K/sec`);
    if (isRequestingSide(input.cs)) figures.push(`want ${groupThousands(s.wantKiBps)} K/sec`);
    if (f.stalled) figures.push('stalled');
  }
  let tail = '';
  for (const part of figures) {
    const next = tail ? `${tail}  ${part}` : `  ${part}`;
    if (next.length > width) break;
    tail = next;
  }
  if (opts.ansi && stalled) tail = `${YELLOW}${tail}${RESET}`;
  return [head, tail];
}

export function renderWatchFrame(input: ProcDrbdInput, opts: WatchOptions): string {
  let out = opts.ansi ? HOME_CLEAR : '';
  out += renderProcDrbd(input);
  const blocks = [...input.devices].sort((a, b) => a.minor - b.minor).flatMap((d) => progressBlock(d, opts));
  if (blocks.length) out += `\n${blocks.join('\n')}\n`;
  return out;
}
