// Kernel-style log text for state changes and refused state changes (kernel-captures/*.txt,
// replication-protocol.md end: `conn( WFConnection -> WFReportParams ) pdsk( DUnknown ->
// UpToDate ) `, `State change failed: <text>` + ` state = { … }` / `wanted = { … }`).
import { connName, diskName, roleName } from './enums.js';
import { SS, ssText } from './errors.js';
import { isSuspended, type DeviceState } from './state.js';

export interface FieldChange {
  /** The kernel's label: role, peer, conn, disk, pdsk, susp, aftr_isp, peer_isp, user_isp. */
  field: string;
  from: string;
  to: string;
}

const bit = (b: boolean): string => (b ? '1' : '0');

/**
 * The changed fields in the kernel's order (role, peer, conn, disk, pdsk, susp, aftr_isp,
 * peer_isp, user_isp). `susp` is the combined "I/O suspended for any reason" flag, as the
 * kernel prints it; the three suspend reasons are not listed separately.
 */
export function stateChanges(os: DeviceState, ns: DeviceState): FieldChange[] {
  const out: FieldChange[] = [];
  if (os.role !== ns.role) out.push({ field: 'role', from: roleName(os.role), to: roleName(ns.role) });
  if (os.peer !== ns.peer) out.push({ field: 'peer', from: roleName(os.peer), to: roleName(ns.peer) });
  if (os.conn !== ns.conn) out.push({ field: 'conn', from: connName(os.conn), to: connName(ns.conn) });
  if (os.disk !== ns.disk) out.push({ field: 'disk', from: diskName(os.disk), to: diskName(ns.disk) });
  if (os.pdsk !== ns.pdsk) out.push({ field: 'pdsk', from: diskName(os.pdsk), to: diskName(ns.pdsk) });
  if (isSuspended(os) !== isSuspended(ns)) {
    out.push({ field: 'susp', from: bit(isSuspended(os)), to: bit(isSuspended(ns)) });
  }
  if (os.aftrIsp !== ns.aftrIsp) out.push({ field: 'aftr_isp', from: bit(os.aftrIsp), to: bit(ns.aftrIsp) });
  if (os.peerIsp !== ns.peerIsp) out.push({ field: 'peer_isp', from: bit(os.peerIsp), to: bit(ns.peerIsp) });
  if (os.userIsp !== ns.userIsp) out.push({ field: 'user_isp', from: bit(os.userIsp), to: bit(ns.userIsp) });
  return out;
}

/**
 * The state-change line exactly as the kernel prints it, including the trailing space:
 * `peer( Unknown -> Secondary ) conn( WFReportParams -> Connected ) `. '' when nothing printable
 * changed. The caller adds the prefix (`block drbd0: ` or `drbd r0: `).
 */
export function renderStateChangeLine(changes: readonly FieldChange[]): string {
  return changes.map((c) => `${c.field}( ${c.from} -> ${c.to} ) `).join('');
}

/** `{ cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent r----- }` */
export function renderStateBraces(s: DeviceState): string {
  const flags =
    (isSuspended(s) ? 's' : 'r') +
    (s.aftrIsp ? 'a' : '-') +
    (s.peerIsp ? 'p' : '-') +
    (s.userIsp ? 'u' : '-') +
    (s.suspFen ? 'F' : '-') +
    (s.suspNod ? 'N' : '-');
  return (
    `{ cs:${connName(s.conn)} ro:${roleName(s.role)}/${roleName(s.peer)} ` +
    `ds:${diskName(s.disk)}/${diskName(s.pdsk)} ${flags} }`
  );
}

/**
 * The kernel's lines for a refused (verbose) state change: the reason, then the current and the
 * wanted state with the names right-aligned on "=". A refusal for a transient state is not
 * printed (the caller waits and retries).
 */
export function renderStateChangeFailure(os: DeviceState, wanted: DeviceState, code: SS): string[] {
  if (code === SS.InTransientState) return [];
  return [
    `State change failed: ${ssText(code)}`,
    `  state = ${renderStateBraces(os)}`,
    ` wanted = ${renderStateBraces(wanted)}`,
  ];
}
