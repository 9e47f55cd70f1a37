// The daemon's command set: what drbdadm sends over the control socket. These are DRBD 8.4's
// drbdsetup commands (spec/states.md §5 "Low-level calls"), with the configuration already
// resolved by drbdadm — the daemon never reads drbd.conf, as the kernel module never does.
import type { Address, MetaDisk } from '../config/model.js';
import type { DrbdadmStatusResource, StatusJsonDeviceInput } from '../status/index.js';
import type { DiskOptions, Handlers, NetOptions, ResourceOptions, StartupOptions } from '../config/resolve.js';

/** The object a command acts on, as drbdsetup names it in its messages (`0: State change failed: ...`). */
export type MinorArgs = { minor: number };
export type ResourceArgs = { resource: string };

export interface DaemonCommandArgs {
  ping: Record<string, never>;
  /** drbdsetup new-resource R [options]: idempotent. */
  'new-resource': ResourceArgs & {
    options: ResourceOptions;
    handlers: Handlers;
    startup: StartupOptions;
    /** Exported to handlers as DRBD_CONF. */
    configFile: string;
    /** Minor of the resource named by resync-after, if any. */
    resyncAfterMinor?: number;
  };
  /** drbdsetup new-minor R MINOR VOLUME: idempotent. */
  'new-minor': ResourceArgs & MinorArgs & { volume: number; device: string };
  /** drbdsetup attach MINOR DISK META-DISK [disk options]; drbdadm ran apply-al before. */
  attach: MinorArgs & { disk: string; metaDisk: MetaDisk; diskOptions: DiskOptions };
  /** drbdsetup connect R LOCAL PEER [net options]. */
  connect: ResourceArgs & {
    local: Address;
    peer: Address;
    /** The peer's host name (DRBD_PEER for handlers). */
    peerHost: string;
    net: NetOptions;
    discardMyData: boolean;
    /** --dry-run / --tentative: run the handshake, report, never sync. */
    dryRun: boolean;
  };
  disconnect: ResourceArgs & { force: boolean };
  detach: MinorArgs & { force: boolean };
  primary: MinorArgs & { force: boolean };
  secondary: MinorArgs;
  /** drbdsetup down R: demote, disconnect, detach, delete the minors and the resource. */
  down: ResourceArgs;
  role: MinorArgs;
  cstate: MinorArgs;
  dstate: MinorArgs;
  'get-gi': MinorArgs;
  'show-gi': MinorArgs;
  outdate: MinorArgs;
  invalidate: MinorArgs;
  'invalidate-remote': MinorArgs;
  verify: MinorArgs & { startSector?: number; stopSector?: number };
  'pause-sync': MinorArgs;
  'resume-sync': MinorArgs;
  'new-current-uuid': MinorArgs & { clearBitmap: boolean };
  /** Waits until conn >= Connected (or StandAlone unless waitAfterSb); timeouts in seconds, 0 = forever. */
  'wait-connect': MinorArgs & { wfcTimeout: number; degrWfcTimeout: number; outdatedWfcTimeout: number; waitAfterSb: boolean };
  /** Waits until no resync runs (after wait-connect). */
  'wait-sync': MinorArgs & { wfcTimeout: number; degrWfcTimeout: number; outdatedWfcTimeout: number; waitAfterSb: boolean };
  /** The whole node's state: resources, minors, states, counters, sync progress (JSON). */
  status: Record<string, never>;
  /** The running configuration of a resource, for `adjust` (undefined result when not configured). */
  show: ResourceArgs;
  shutdown: Record<string, never>;
}

export type DaemonCommand = keyof DaemonCommandArgs;

export const DAEMON_COMMANDS: readonly DaemonCommand[] = [
  'ping',
  'new-resource',
  'new-minor',
  'attach',
  'connect',
  'disconnect',
  'detach',
  'primary',
  'secondary',
  'down',
  'role',
  'cstate',
  'dstate',
  'get-gi',
  'show-gi',
  'outdate',
  'invalidate',
  'invalidate-remote',
  'verify',
  'pause-sync',
  'resume-sync',
  'new-current-uuid',
  'wait-connect',
  'wait-sync',
  'status',
  'show',
  'shutdown',
];

/** The `status` command's result: everything a renderer in src/status needs, gathered at one instant. */
export interface NodeStatus {
  /** The /proc/drbd text at that instant (what the status file holds). */
  procDrbd: string;
  /** Input of renderProcDrbd / the JSON renderer: one entry per minor. */
  devices: StatusJsonDeviceInput[];
  /** Input of renderDrbdadmStatus. */
  resources: DrbdadmStatusResource[];
}
