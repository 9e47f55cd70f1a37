// Role changes and the disconnect sequence (states.md §3): the retry logic of `primary
// [--force]`, `secondary` and `disconnect`. The logic is pure; everything that touches the world
// (applying a state change incl. the cluster-wide round trip, running fence-peer, sleeping) is
// an injected port, so tests drive it with requestStateChange and scripted answers.
import { ConnState, DiskState, Role } from './enums.js';
import { SS } from './errors.js';
import type { DeviceState, StateChange } from './state.js';

/** Attempts of a promotion/demotion (states.md §3 "Promotion retries"). */
export const MAX_ROLE_TRIES = 4;

type MaybePromise<T> = T | Promise<T>;

export interface RolePorts {
  /** The device state now (re-read after every attempt). */
  state(): DeviceState;
  /**
   * Requests a soft state change and applies it when accepted (including, for cluster-wide
   * changes, asking the peer first). `verbose`: log the kernel's refusal lines.
   */
  request(change: StateChange, verbose: boolean): MaybePromise<SS>;
  /** Runs fence-peer; true when the peer is now known to be outdated (or fenced). */
  tryOutdatePeer(): MaybePromise<boolean>;
  sleep(ms: number): MaybePromise<void>;
}

export interface RoleChangeOptions {
  /** `primary --force` / `--overwrite-data-of-peer`. */
  force: boolean;
  /** net ping-timeout in ms (SS_TWO_PRIMARIES waits ping-timeout + 100 ms once). */
  pingTimeoutMs: number;
}

export interface RoleAttempt {
  change: StateChange;
  verbose: boolean;
  code: SS;
}

export interface RoleChangeOutcome {
  /** Final code: ≥ SS_SUCCESS (incl. SS_NOTHING_TO_DO) is success. */
  code: SS;
  /** The disk was forced to UpToDate (⇒ onPromote with forced: always a new current UUID). */
  forced: boolean;
  /** Kernel log lines of the role logic itself (state-change lines come from `request`). */
  log: string[];
  attempts: RoleAttempt[];
}

/**
 * drbdsetup primary/secondary: up to 4 attempts of "role := newRole", adapting the request to
 * the refusal (states.md §3):
 *  - SS_NO_UP_TO_DATE_DISK with --force and disk Inconsistent..Consistent: add disk := UpToDate;
 *  - SS_NO_UP_TO_DATE_DISK with disk Consistent: fence the peer, on success add disk := UpToDate;
 *  - SS_PRIMARY_NOP: fence the peer; if that fails and --force: add pdsk := Outdated
 *    ("Forced into split brain situation!");
 *  - SS_CW_FAILED_BY_PEER after adding pdsk: drop the pdsk part (the peer is reachable again);
 *  - SS_TWO_PRIMARIES: wait ping-timeout + 0.1 s once (the peer may be dying), retry once more;
 *  - any other refusal: repeat verbosely once and give up.
 */
export async function changeRole(ports: RolePorts, newRole: Role, opts: RoleChangeOptions): Promise<RoleChangeOutcome> {
  const change: StateChange = { role: newRole };
  const log: string[] = [];
  const attempts: RoleAttempt[] = [];
  let forced = false;
  let code: SS = SS.UnknownError;

  const attempt = async (verbose: boolean): Promise<SS> => {
    const c = await ports.request({ ...change }, verbose);
    attempts.push({ change: { ...change }, verbose, code: c });
    return c;
  };

  for (let tries = 0; tries < MAX_ROLE_TRIES; tries++) {
    code = await attempt(false);
    const disk = ports.state().disk;

    if (code === SS.CwFailedByPeer && change.pdsk !== undefined) {
      delete change.pdsk;
      continue;
    }
    if (code === SS.NoUpToDateDisk && opts.force && disk >= DiskState.Inconsistent && disk < DiskState.UpToDate) {
      change.disk = DiskState.UpToDate;
      forced = true;
      continue;
    }
    if (code === SS.NoUpToDateDisk && disk === DiskState.Consistent && change.pdsk === undefined) {
      if (await ports.tryOutdatePeer()) change.disk = DiskState.UpToDate;
      continue;
    }
    if (code === SS.NothingToDo) break;
    if (code === SS.PrimaryNop && change.pdsk === undefined) {
      if (!(await ports.tryOutdatePeer()) && opts.force) {
        log.push('Forced into split brain situation!');
        change.pdsk = DiskState.Outdated;
      }
      continue;
    }
    if (code === SS.TwoPrimaries) {
      if (tries >= MAX_ROLE_TRIES - 1) break; // the one extra attempt is used up: fail
      await ports.sleep(opts.pingTimeoutMs + 100);
      tries = MAX_ROLE_TRIES - 2; // the loop's ++ leaves exactly one more attempt
      continue;
    }
    if (code < SS.Success) code = await attempt(true);
    break;
  }

  if (code < SS.Success) return { code, forced: false, log, attempts };
  if (forced) log.push('Forced to consider local data as UpToDate!');
  return { code, forced, log, attempts };
}

// ---------------------------------------------------------------------------------------------
// disconnect (states.md §3 "disconnect (graceful)").

export interface DisconnectPorts {
  /** Requests a connection state change; `hard` skips the soft checks (`disconnect --force`). */
  request(change: StateChange, opts: { hard: boolean; verbose: boolean }): MaybePromise<SS>;
}

export interface DisconnectAttempt {
  change: StateChange;
  hard: boolean;
  code: SS;
}

export interface DisconnectOutcome {
  code: SS;
  attempts: DisconnectAttempt[];
}

/**
 * Disconnecting, with the fencing fallbacks: a Primary refused with SS_PRIMARY_NOP asks the peer
 * to outdate itself as part of the disconnect; when the connection is already gone
 * (SS_OUTDATE_WO_CONN) it disconnects plainly; when the peer refuses (SS_CW_FAILED_BY_PEER) this
 * node outdates itself instead, and if it cannot (Diskless / below Outdated) it disconnects
 * hard. Disconnecting a StandAlone device succeeds silently.
 */
export async function disconnect(ports: DisconnectPorts, opts: { force: boolean }): Promise<DisconnectOutcome> {
  const attempts: DisconnectAttempt[] = [];
  const attempt = async (change: StateChange, hard: boolean, verbose: boolean): Promise<SS> => {
    const code = await ports.request(change, { hard, verbose });
    attempts.push({ change, hard, code });
    return code;
  };
  const D = ConnState.Disconnecting;

  let code = await attempt({ conn: D }, opts.force, false);
  if (code === SS.AlreadyStandalone) return { code: SS.Success, attempts };
  if (code === SS.PrimaryNop) {
    code = await attempt({ conn: D, pdsk: DiskState.Outdated }, false, false);
    if (code === SS.OutdateWoConn) code = await attempt({ conn: D }, false, true);
  }
  if (code === SS.CwFailedByPeer) {
    code = await attempt({ conn: D, disk: DiskState.Outdated }, false, false);
    if (code === SS.IsDiskless || code === SS.LowerThanOutdated) code = await attempt({ conn: D }, true, true);
  }
  return { code, attempts };
}

/** `outdate`: a plain soft request; the state rules give its outcomes (states.md §3). */
export function outdateRequest(): StateChange {
  return { disk: DiskState.Outdated };
}

/** Who may become Primary without --force (states.md §3): a quick answer for status/agents. */
export function mayPromoteWithoutForce(s: DeviceState): boolean {
  if (s.disk === DiskState.UpToDate) return true;
  return s.conn >= ConnState.Connected && s.pdsk === DiskState.UpToDate;
}
