// Everything this node hosts: resources by name, volumes by minor, and the dispatch of the
// drbdsetup-level commands of src/daemon/commands.ts. Also gathers the numbers behind the
// status file (renderers in src/status).
import type { Logger } from '../log.js';
import type { DaemonCommand, DaemonCommandArgs, NodeStatus } from './commands.js';
import { ConnState, DiskState, ERR, Role, connName, diskName, roleName } from '../state/index.js';
import { getGiText, showGiText } from '../meta/gi.js';
import {
  UDRBD_PROC_HEADER,
  renderProcDrbd,
  type DrbdadmStatusResource,
  type ProcDevice,
  type StatusJsonDeviceInput,
} from '../status/index.js';
import { Resource, type Reply } from './resource.js';
import type { Volume } from './volume.js';

export class Node {
  readonly resources = new Map<string, Resource>();

  constructor(
    private readonly log: Logger,
    private readonly nbdSocket: (minor: number) => string,
    private readonly blockdevDir: (minor: number) => string,
    private readonly changed: () => void,
  ) {}

  volumeByMinor(minor: number): { res: Resource; vol: Volume } | undefined {
    for (const res of this.resources.values()) {
      for (const vol of res.volumes.values()) if (vol.minor === minor) return { res, vol };
    }
    return undefined;
  }

  private unknownMinor(minor: number): Reply {
    // drbdsetup's answer for a minor that does not exist (spec/states.md §4).
    return { exitCode: 10, stderr: `${minor}: Failure: (${ERR.MinorInvalid}) Device minor not allocated\nadditional info from kernel:\nunknown minor\n` };
  }

  private unknownResource(name: string): Reply {
    return { exitCode: 10, stderr: `${name}: Failure: (158) Unknown resource\nadditional info from kernel:\nunknown resource\n` };
  }

  async handle<C extends DaemonCommand>(cmd: C, a: DaemonCommandArgs[C]): Promise<Reply> {
    const args = a as Record<string, unknown>;
    const minorCmd = async (fn: (res: Resource, vol: Volume) => Reply | Promise<Reply>): Promise<Reply> => {
      const m = this.volumeByMinor(args.minor as number);
      return m ? fn(m.res, m.vol) : this.unknownMinor(args.minor as number);
    };
    const resCmd = async (fn: (res: Resource) => Reply | Promise<Reply>): Promise<Reply> => {
      const r = this.resources.get(args.resource as string);
      return r ? fn(r) : this.unknownResource(args.resource as string);
    };
    switch (cmd) {
      case 'new-resource': {
        const nr = a as DaemonCommandArgs['new-resource'];
        const existing = this.resources.get(nr.resource);
        if (existing) existing.options = nr;
        else this.resources.set(nr.resource, new Resource(nr, { changed: this.changed, nbdSocket: this.nbdSocket, blockdevDir: this.blockdevDir }, this.log.child({ resource: nr.resource })));
        this.changed();
        return { exitCode: 0 };
      }
      case 'new-minor':
        return resCmd((r) => {
          const nm = a as DaemonCommandArgs['new-minor'];
          const other = this.volumeByMinor(nm.minor);
          if (other && other.res !== r) return { exitCode: 10, stderr: `${nm.minor}: Failure: (161) Minor or volume exists already (delete it first)\n` };
          r.newMinor(nm);
          this.changed();
          return { exitCode: 0 };
        });
      case 'attach':
        return minorCmd((r, v) => r.attach(v, a as DaemonCommandArgs['attach']));
      case 'connect':
        return resCmd((r) => r.connect(a as DaemonCommandArgs['connect']));
      case 'disconnect':
        return resCmd((r) => r.disconnect((a as DaemonCommandArgs['disconnect']).force));
      case 'detach':
        return minorCmd((r, v) => r.detach(v, (a as DaemonCommandArgs['detach']).force));
      case 'primary':
        return minorCmd((r, v) => r.changeRole(v, Role.Primary, (a as DaemonCommandArgs['primary']).force));
      case 'secondary':
        return minorCmd((r, v) => r.changeRole(v, Role.Secondary, false));
      case 'outdate':
        return minorCmd((r, v) => r.outdate(v));
      case 'down':
        return resCmd(async (r) => {
          const rep = await r.down();
          if (rep.exitCode === 0) this.resources.delete(r.name);
          this.changed();
          return rep;
        });
      case 'role':
        return minorCmd((_r, v) => ({ exitCode: 0, stdout: unconfigured(v) ?? `${roleName(v.state.role)}/${roleName(v.state.peer)}\n` }));
      case 'cstate':
        return minorCmd((_r, v) => ({ exitCode: 0, stdout: unconfigured(v) ?? `${connName(v.state.conn)}\n` }));
      case 'dstate':
        return minorCmd((_r, v) => ({ exitCode: 0, stdout: unconfigured(v) ?? `${diskName(v.state.disk)}/${diskName(v.state.pdsk)}\n` }));
      case 'get-gi':
      case 'show-gi':
        return minorCmd((_r, v) => {
          if (!v.meta) return { exitCode: 10, stderr: 'Device has no disk\n' };
          // The superblock is written on every UUID and flag change, so it is the live set.
          const sb = v.meta.readSuperblock();
          return { exitCode: 0, stdout: cmd === 'show-gi' ? showGiText(sb, sb.laSizeSect) : getGiText(sb) };
        });
      case 'wait-connect':
        return minorCmd(async (r, v) => {
          const w = a as DaemonCommandArgs['wait-connect'];
          const t = v.useDegrWfc ? w.degrWfcTimeout : v.state.pdsk === DiskState.Outdated ? w.outdatedWfcTimeout : w.wfcTimeout;
          return (await r.waitConnect(v, t, w.waitAfterSb)) ? { exitCode: 0 } : { exitCode: 5 };
        });
      case 'status':
        return { exitCode: 0, result: this.status() };
      default:
        return { exitCode: 20, stderr: `udrbdd: '${cmd}' is not available in this build\n` };
    }
  }

  /** Process exit: stop every link and close every device (bitmaps flushed). */
  async shutdown(): Promise<void> {
    for (const res of this.resources.values()) await res.close();
    this.resources.clear();
  }

  /** The numbers of every minor at this instant. */
  status(now = Date.now()): NodeStatus {
    const devices: StatusJsonDeviceInput[] = [];
    const resources: DrbdadmStatusResource[] = [];
    for (const res of this.resources.values()) {
      const vols = [...res.volumes.values()].sort((x, y) => x.vnr - y.vnr);
      for (const v of vols) devices.push({ resource: res.name, volume: v.vnr, device: procDevice(res, v, now) });
      const first = vols[0];
      resources.push({
        name: res.name,
        role: roleName(first?.state.role ?? Role.Secondary) as DrbdadmStatusResource['role'],
        suspended: { user: first?.state.susp ?? false, noData: first?.state.suspNod ?? false, fencing: first?.state.suspFen ?? false },
        volumes: vols.map((v) => ({
          volume: v.vnr,
          minor: v.minor,
          disk: diskName(v.state.disk) as never,
          cs: connName(v.state.conn) as never,
          peerDisk: diskName(v.state.pdsk) as never,
          userIsp: v.state.userIsp,
          peerIsp: v.state.peerIsp,
          aftrIsp: v.state.aftrIsp,
          sizeSectors: (v.device?.usableSizeBytes ?? 0) / 512,
          oosSectors: v.bitsSet() * 8,
        })),
        connection: res.connection && first
          ? { cs: connName(first.state.conn) as never, peerRole: roleName(first.state.peer) as never, congested: false }
          : null,
      });
    }
    devices.sort((x, y) => x.device.minor - y.device.minor);
    return { procDrbd: renderProcDrbd({ header: UDRBD_PROC_HEADER, devices: devices.map((d) => d.device) }), devices, resources };
  }
}

/** `Unconfigured` as drbdsetup prints it for a StandAlone Diskless minor. */
function unconfigured(v: Volume): string | undefined {
  return v.state.conn === ConnState.StandAlone && v.state.disk === DiskState.Diskless ? 'Unconfigured\n' : undefined;
}

function procDevice(res: Resource, v: Volume, now: number): ProcDevice {
  const s = v.state;
  const c = v.device?.counters();
  const link = res.connection?.link.counters();
  const protocol = res.connection ? res.connection.spec.net.protocol : null;
  const d = res.connection && v.attach?.diskOptions;
  // Write ordering shown in wo: (proc-drbd.md §2.3): flush unless disk-flushes is off.
  const wo = !v.attach ? 'b' : d && d.diskFlushes === false ? (d.diskDrain === false ? 'n' : 'd') : 'f';
  return {
    minor: v.minor,
    cs: connName(s.conn) as ProcDevice['cs'],
    ro: roleName(s.role) as ProcDevice['ro'],
    peerRo: roleName(s.peer) as ProcDevice['peerRo'],
    ds: diskName(s.disk) as ProcDevice['ds'],
    pds: diskName(s.pdsk) as ProcDevice['pds'],
    protocol,
    flags: {
      susp: s.susp || s.suspNod || s.suspFen,
      aftrIsp: s.aftrIsp,
      peerIsp: s.peerIsp,
      userIsp: s.userIsp,
      congestion: '-',
      alSuspended: c?.alSuspended ?? false,
    },
    counters: {
      ns: Math.floor((link?.nsBytes ?? 0) / 1024),
      nr: Math.floor((link?.nrBytes ?? 0) / 1024),
      dw: c?.dw ?? 0,
      dr: c?.dr ?? 0,
      al: c?.al ?? 0,
      bm: 0,
      lo: c?.lo ?? 0,
      pe: link?.pe ?? 0,
      ua: link?.ua ?? 0,
      ap: c?.ap ?? 0,
      ep: link?.ep ?? 1,
      wo,
      oos: v.bitsSet() * 4,
    },
    // The bar and speed lines of a running resync (proc-drbd.md §3).
    ...(v.resync ? { sync: v.resync.progress(now, v.bitsSet()) } : {}),
  };
}

