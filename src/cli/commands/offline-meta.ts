// drbdmeta's part of drbdadm: meta-data operations done offline on the backing device, without
// the daemon. drbdadm does not implement them; an implementation (src/meta's drbdmeta-like
// functions) is injected, so this module only states the contract and the fallback rule.
import type { MetaOp, MetaTarget } from './lowlevel.js';

export interface OfflineResult {
  /** drbdmeta's exit code (e.g. 20 "Device '0' is configured!", 1 "No valid meta data found"). */
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** What drbdadm needs from the meta-data tool: run one drbdmeta operation. */
export interface OfflineMetaTool {
  run(op: MetaOp, target: MetaTarget, options: readonly string[]): Promise<OfflineResult>;
}

/** What the daemon answered for the drbdsetup half of a fallback command. */
export interface DaemonAnswer {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type FallbackDecision =
  /** Report the daemon's answer (or nothing, when `print` is false) — never with the
   * `Command ...` line: drbdadm-84 prints none for these. */
  | { kind: 'daemon'; print: boolean }
  /** Drop the daemon's answer and run the offline step. */
  | { kind: 'offline' };

/**
 * The fallback rule of spec/states.md §5, as drbdadm-84 behaves (checked with a stub drbdsetup):
 * invalidate, dstate, get-gi, show-gi run drbdsetup with its output held back; success and
 * 11/17 (a refused state change on a configured minor) are reported as they are, any other
 * failure (minor not configured, no disk, ...) is replaced by drbdmeta on the backing device.
 * outdate is the same except that 17 ends it silently and 11 falls back too.
 */
export function fallbackDecision(rule: 'offline-unless-11-17' | 'outdate', answer: DaemonAnswer): FallbackDecision {
  const code = answer.exitCode;
  if (code === 0) return { kind: 'daemon', print: true };
  if (rule === 'outdate') return code === 17 ? { kind: 'daemon', print: false } : { kind: 'offline' };
  return code === 11 || code === 17 ? { kind: 'daemon', print: true } : { kind: 'offline' };
}
