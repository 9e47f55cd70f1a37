// A DRBD resource on this node: its volumes (minors), its connection to the peer, its
// handlers, and the drbdsetup-level commands on it. Commands validate against the state
// engine and answer as drbdsetup does (text on stderr, exit code).
import type { DaemonCommandArgs } from './commands.js';
import type { Logger } from '../log.js';
import {
  ConnState,
  DiskState,
  ERR,
  Role,
  SS,
  changeRole,
  disconnect as disconnectSequence,
  drbdsetupReport,
  outdateRequest,
  type StateChange,
} from '../state/index.js';
import { Connection } from './connection.js';
import { runHandler, type HandlerName } from './handlers.js';
import { Volume } from './volume.js';
import { BlockDeviceUnavailableError, attachBlockDevice, blockDeviceHolders, describeHolder } from './blockdev/index.js';

export interface Reply {
  exitCode: number;
  stdout?: string;
  stderr?: string;
  result?: unknown;
}

export interface ResourceHooks {
  changed(): void;
  nbdSocket(minor: number): string;
  /** Where the block-device layer keeps its FUSE mount and helper files for a minor. */
  blockdevDir(minor: number): string;
}

/**
 * /dev/drbdN exists while Primary (DESIGN.md "The block device"). UDRBD_DEVICE_NODES=off
 * leaves only the NBD socket — for several nodes on one machine that share a device name.
 */
const deviceNodesWanted = (): boolean => process.env.UDRBD_DEVICE_NODES !== 'off';

const ok = (stdout?: string): Reply => ({ exitCode: 0, ...(stdout ? { stdout } : {}) });

export class Resource {
  readonly volumes = new Map<number, Volume>();
  connection: Connection | undefined;
  options: DaemonCommandArgs['new-resource'];

  constructor(
    args: DaemonCommandArgs['new-resource'],
    private readonly hooks: ResourceHooks,
    readonly log: Logger,
  ) {
    this.options = args;
  }

  get name(): string {
    return this.options.resource;
  }

  /** drbdsetup's reply for an SS_* / ERR_* code on object `obj`. */
  report(obj: string | number, code: number): Reply {
    const r = drbdsetupReport(String(obj), code);
    return { exitCode: r.exitCode, ...(r.stderr ? { stderr: r.stderr } : {}) };
  }

  newMinor(args: DaemonCommandArgs['new-minor']): Volume {
    const existing = this.volumes.get(args.volume);
    if (existing) return existing;
    const v = new Volume(this.name, args.minor, args.volume, args.device, {
      changed: (vol, old) => this.onVolumeChanged(vol, old),
      handler: (vol, name) => void this.handler(vol, name),
      context: () => ({
        hasNetConfig: this.connection !== undefined,
        allowTwoPrimaries: this.connection?.spec.net.allowTwoPrimaries ?? false,
        agreedProtocol: this.connection?.agreedProtocol ?? 0,
        stateSent: this.connection?.stateSent ?? false,
        verifyAlg: this.connection?.spec.net.verifyAlg ?? '',
      }),
    }, this.log.child({ minor: args.minor }));
    this.volumes.set(args.volume, v);
    return v;
  }

  private onVolumeChanged(v: Volume, old: { role: Role; disk: DiskState; userIsp: boolean; susp: boolean }): void {
    const c = this.connection;
    const s = v.state;
    // The peer hears of our role, disk and pause changes while connected (wire-protocol-84.md
    // §5.3); conn changes travel with the handshake and the state requests themselves.
    if (c && s.conn >= ConnState.Connected && (old.role !== s.role || old.disk !== s.disk || old.userIsp !== s.userIsp || old.susp !== s.susp)) {
      // A new generation (a forced promotion, say) reaches the peer before the state that
      // makes it run its handshake, as DRBD sends them.
      if (v.uuidsUnsent) c.sendUuids();
      c.sendState();
    }
    // Application writes go to the peer while it has a disk to write them to.
    c?.link.setReplicating(s.conn >= ConnState.Connected && s.pdsk >= DiskState.Inconsistent);
    if (s.conn >= ConnState.Connected) v.device?.setAlSuspended(false);
    this.hooks.changed();
  }

  handler(v: Volume, name: HandlerName | string): Promise<number> {
    return runHandler(name as HandlerName, this.options.handlers, {
      resource: this.name,
      minor: v.minor,
      volume: v.vnr,
      configFile: this.options.configFile,
      backingDisk: v.attach?.disk ?? '',
      ...(this.connection ? { peerAddress: { af: this.connection.spec.peer.af, ip: this.connection.spec.peer.ip }, peerHost: this.connection.spec.peerHost } : {}),
    }, this.log);
  }

  /** The single volume the connection serves (multi-volume replication is not in this build). */
  private connectedVolume(): Volume | undefined {
    return [...this.volumes.values()][0];
  }

  async attach(v: Volume, args: DaemonCommandArgs['attach']): Promise<Reply> {
    if (v.state.disk !== DiskState.Diskless) return this.report(v.minor, ERR.DiskConfigured);
    try {
      const r = await v.doAttach({
        disk: args.disk,
        metaDisk: args.metaDisk,
        diskOptions: args.diskOptions,
        nbdSocketPath: this.hooks.nbdSocket(v.minor),
      });
      return r.ok ? ok() : this.report(v.minor, r.code);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.log.error(`block drbd${v.minor}: attach failed: ${msg}`);
      return { exitCode: 10, stderr: `${v.minor}: Failure: (${ERR.MdInvalid}) ${msg}\n` };
    }
  }

  connect(args: DaemonCommandArgs['connect']): Reply {
    if (this.connection) return this.report(this.name, ERR.NetConfigured);
    const v = this.connectedVolume();
    if (!v) return this.report(this.name, ERR.MinorInvalid);
    if (this.volumes.size > 1) {
      return { exitCode: 10, stderr: `${this.name}: udrbd replicates one volume per resource; ${this.volumes.size} configured\n` };
    }
    if (args.discardMyData && v.state.role === Role.Primary) return this.report(this.name, ERR.DiscardNotAllowed);
    const { resource: _resource, ...spec }: DaemonCommandArgs['connect'] = args;
    const conn = new Connection(v, spec, {
      handler: (name) => void this.handler(v, name),
      closed: () => {
        if (this.connection === conn) this.connection = undefined;
        this.hooks.changed();
      },
    }, this.log.child({ peer: args.peerHost }));
    this.connection = conn;
    const r = v.change({ conn: ConnState.Unconnected });
    if (!r.ok) {
      this.connection = undefined;
      return this.report(this.name, r.code);
    }
    conn.start();
    return ok();
  }

  async disconnect(force: boolean): Promise<Reply> {
    const c = this.connection;
    const v = this.connectedVolume();
    if (!c || !v) return ok(); // disconnecting a StandAlone resource succeeds silently
    const out = await disconnectSequence({
      request: (change, opts) => (opts.hard ? v.change(change, { hard: true }).code : c.request(change)),
    }, { force });
    if (out.code < SS.Success) return this.report(this.name, out.code);
    c.goStandAlone();
    return ok();
  }

  async changeRole(v: Volume, role: Role, force: boolean): Promise<Reply> {
    // Openers of /dev/drbdN keep it Primary: the state engine refuses the demotion with
    // SS_DEVICE_IN_USE (-12) while anything holds it (states.md §3).
    if (role === Role.Secondary && v.blockdev) {
      const holders = await blockDeviceHolders(v.blockdev);
      v.openCount = holders.length;
      for (const h of holders) this.log.info(`block drbd${v.minor}: held open: ${describeHolder(h)}`);
    }
    const out = await changeRole({
      state: () => v.state,
      request: (change: StateChange) => (this.connection ? this.connection.request(change) : v.change(change).code),
      tryOutdatePeer: async () => {
        const rc = await this.handler(v, 'fence-peer');
        return rc === 4 || rc === 7 || rc === 3 || (rc === 5 && v.state.disk === DiskState.UpToDate);
      },
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    }, role, { force, pingTimeoutMs: (this.connection?.spec.net.pingTimeoutDeciSec ?? 5) * 100 });
    for (const l of out.log) this.log.warn(`block drbd${v.minor}: ${l}`);
    v.openCount = 0;
    if (out.code < SS.Success) return this.report(v.minor, out.code);
    if (role === Role.Secondary) {
      await this.detachDeviceNode(v);
      return ok();
    }
    // Where /dev/drbdN cannot be made (no root, no /dev/fuse), the user hears it here.
    const note = await this.attachDeviceNode(v);
    return note ? { exitCode: 0, stderr: `${note}\n` } : ok();
  }

  /**
   * Makes /dev/drbdN appear for a Primary; where that is not possible the NBD socket stays
   * the way in, and the returned line says so.
   */
  private async attachDeviceNode(v: Volume): Promise<string | undefined> {
    if (v.blockdev || !v.device || !deviceNodesWanted()) return undefined;
    try {
      v.blockdev = await attachBlockDevice({
        minor: v.minor,
        devicePath: v.devicePath,
        nbdSocket: this.hooks.nbdSocket(v.minor),
        sizeBytes: v.device.usableSizeBytes,
        workDir: this.hooks.blockdevDir(v.minor),
      });
      this.log.info(`block drbd${v.minor}: ${v.devicePath} is ${v.blockdev.loopDevice} (${v.blockdev.via})`);
      return undefined;
    } catch (e) {
      const why = e instanceof BlockDeviceUnavailableError ? e.message : `cannot create ${v.devicePath}: ${(e as Error).message}`;
      this.log.warn(`block drbd${v.minor}: ${why}`);
      return `udrbd: ${why}`;
    }
  }

  private async detachDeviceNode(v: Volume): Promise<void> {
    const h = v.blockdev;
    if (!h) return;
    v.blockdev = undefined;
    await h.detach();
  }

  async detach(v: Volume, force: boolean): Promise<Reply> {
    if (v.state.disk === DiskState.Diskless) return this.report(v.minor, ERR.NoDiskConfig);
    if (!force && v.state.role === Role.Primary && !(v.state.conn >= ConnState.Connected && v.state.pdsk === DiskState.UpToDate)) {
      return this.report(v.minor, SS.NoUpToDateDisk);
    }
    const code = this.connection ? await this.connection.request({ disk: DiskState.Failed }, { hard: force }) : v.change({ disk: DiskState.Failed }, { hard: force }).code;
    if (code < SS.Success) return this.report(v.minor, code);
    v.change({ disk: DiskState.Diskless }, { hard: true });
    await v.release();
    return ok();
  }

  outdate(v: Volume): Reply {
    const r = v.change(outdateRequest());
    return r.ok ? ok() : this.report(v.minor, r.code);
  }

  /** drbdsetup down: demote, disconnect, detach every volume. */
  async down(): Promise<Reply> {
    for (const v of this.volumes.values()) {
      if (v.state.role === Role.Primary) {
        const r = await this.changeRole(v, Role.Secondary, false);
        if (r.exitCode !== 0) return r;
      }
    }
    if (this.connection) {
      const r = await this.disconnect(false);
      if (r.exitCode !== 0) return r;
      this.connection?.stop();
      this.connection = undefined;
    }
    for (const v of this.volumes.values()) {
      if (v.state.disk !== DiskState.Diskless) {
        v.change({ disk: DiskState.Failed }, { hard: true });
        v.change({ disk: DiskState.Diskless }, { hard: true });
        await v.release();
      }
    }
    this.volumes.clear();
    return ok();
  }

  /** Stops the link and closes the devices without state changes (daemon exit). */
  async close(): Promise<void> {
    this.connection?.stop();
    this.connection = undefined;
    for (const v of this.volumes.values()) {
      await this.detachDeviceNode(v).catch((e: Error) => this.log.warn(`block drbd${v.minor}: ${e.message}`));
      await v.release();
    }
  }

  /** Waits until conn >= Connected (or StandAlone, unless waitAfterSb); false on timeout. */
  async waitConnect(v: Volume, timeoutSec: number, waitAfterSb: boolean): Promise<boolean> {
    const deadline = timeoutSec > 0 ? Date.now() + timeoutSec * 1000 : Infinity;
    for (;;) {
      const c = v.state.conn;
      if (c >= ConnState.Connected) return true;
      if (c === ConnState.StandAlone && !waitAfterSb && !this.connection) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await Promise.race([v.nextChange(), new Promise((r) => setTimeout(r, Math.min(left, 1000)))]);
    }
  }
}

export { Volume };
