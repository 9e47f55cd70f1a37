// `udrbd status --json`: a stable, documented JSON shape built from the same per-device input as
// /proc/drbd. Version 1 of the shape; fields are only ever added, never renamed or retyped.
//
// {
//   "version": 1,
//   "devices": [{
//     "resource": "r0", "volume": 0, "minor": 0,
//     "configured": true,                 // false when /proc/drbd would say cs:Unconfigured
//     "role": "Primary", "peerRole": "Secondary",
//     "cstate": "SyncSource", "dstate": "UpToDate", "peerDstate": "Inconsistent",
//     "protocol": "C" | null,             // null: no net config
//     "flags": { "ioSuspended", "resyncPausedDependency", "resyncPausedPeer", "resyncPausedUser",
//                "alSuspended": boolean, "congestion": "-" | "d" | "c" | "b" | "n" | "a" },
//     "counters": { "sentKiB", "receivedKiB", "diskWrittenKiB", "diskReadKiB", "alWrites",
//                   "bmWrites", "localRefs", "pending", "unacked", "appPending", "epochs",
//                   "outOfSyncKiB": number, "writeOrdering": "b" | "f" | "d" | "n" },
//                   // raw values: no 32-bit wrap as in /proc/drbd
//     "sync": null | {                    // present in SyncSource..PausedSyncT when progress is known
//       "verify": boolean, "paused": boolean,
//       "percent": 56.3,                  // the /proc/drbd figure (per-mille / 10, kernel-quantised)
//       "leftKiB", "totalKiB": number,
//       "finishSeconds", "speedKiBps", "averageKiBps": number | null,   // null while paused
//       "wantKiBps": number | null,       // requesting side only (SyncTarget, VerifyS)
//       "stalled": boolean
//     }
//   }]
// }

import { type ConnStateName, type DiskStateName, type RoleName, isRequestingSide, isSyncState, isVerify } from './names.js';
import { type CongestionChar, type ProcDevice, type WriteOrderingChar, isUnconfigured } from './proc-drbd.js';
import { perMilleDone, syncFigures } from './progress.js';

export const STATUS_JSON_VERSION = 1;

export interface StatusJsonDeviceInput {
  resource: string;
  volume: number;
  device: ProcDevice;
}

export interface StatusJsonSync {
  verify: boolean;
  paused: boolean;
  percent: number;
  leftKiB: number;
  totalKiB: number;
  finishSeconds: number | null;
  speedKiBps: number | null;
  averageKiBps: number | null;
  wantKiBps: number | null;
  stalled: boolean;
}

export interface StatusJsonDevice {
  resource: string;
  volume: number;
  minor: number;
  configured: boolean;
  role: RoleName;
  peerRole: RoleName;
  cstate: ConnStateName;
  dstate: DiskStateName;
  peerDstate: DiskStateName;
  protocol: 'A' | 'B' | 'C' | null;
  flags: {
    ioSuspended: boolean;
    resyncPausedDependency: boolean;
    resyncPausedPeer: boolean;
    resyncPausedUser: boolean;
    alSuspended: boolean;
    congestion: CongestionChar;
  };
  counters: {
    sentKiB: number;
    receivedKiB: number;
    diskWrittenKiB: number;
    diskReadKiB: number;
    alWrites: number;
    bmWrites: number;
    localRefs: number;
    pending: number;
    unacked: number;
    appPending: number;
    epochs: number;
    outOfSyncKiB: number;
    writeOrdering: WriteOrderingChar;
  };
  sync: StatusJsonSync | null;
}

export interface StatusJson {
  version: typeof STATUS_JSON_VERSION;
  devices: StatusJsonDevice[];
}

function syncJson(d: ProcDevice): StatusJsonSync | null {
  if (!d.sync || !isSyncState(d.cs)) return null;
  const paused = d.cs === 'PausedSyncS' || d.cs === 'PausedSyncT';
  const want = isRequestingSide(d.cs) ? d.sync.wantKiBps : null;
  if (paused) {
    const { perMille, leftBits } = perMilleDone(d.sync.totalBits, d.sync.leftBits);
    return {
      verify: false, paused, percent: perMille / 10, leftKiB: leftBits * 4, totalKiB: d.sync.totalBits * 4,
      finishSeconds: null, speedKiBps: null, averageKiBps: null, wantKiBps: want, stalled: false,
    };
  }
  const f = syncFigures(d.sync);
  return {
    verify: isVerify(d.cs), paused, percent: f.perMille / 10, leftKiB: f.leftBits * 4, totalKiB: f.totalBits * 4,
    finishSeconds: f.finishSeconds, speedKiBps: f.speedKiBps, averageKiBps: f.averageKiBps, wantKiBps: want,
    stalled: f.stalled,
  };
}

export function statusJson(devices: readonly StatusJsonDeviceInput[]): StatusJson {
  const sorted = [...devices].sort((a, b) => a.device.minor - b.device.minor);
  return {
    version: STATUS_JSON_VERSION,
    devices: sorted.map(({ resource, volume, device: d }) => ({
      resource,
      volume,
      minor: d.minor,
      configured: !isUnconfigured(d),
      role: d.ro,
      peerRole: d.peerRo,
      cstate: d.cs,
      dstate: d.ds,
      peerDstate: d.pds,
      protocol: d.protocol,
      flags: {
        ioSuspended: d.flags.susp,
        resyncPausedDependency: d.flags.aftrIsp,
        resyncPausedPeer: d.flags.peerIsp,
        resyncPausedUser: d.flags.userIsp,
        alSuspended: d.flags.alSuspended,
        congestion: d.flags.congestion,
      },
      counters: {
        sentKiB: d.counters.ns,
        receivedKiB: d.counters.nr,
        diskWrittenKiB: d.counters.dw,
        diskReadKiB: d.counters.dr,
        alWrites: d.counters.al,
        bmWrites: d.counters.bm,
        localRefs: d.counters.lo,
        pending: d.counters.pe,
        unacked: d.counters.ua,
        appPending: d.counters.ap,
        epochs: d.counters.ep,
        outOfSyncKiB: d.counters.oos,
        writeOrdering: d.counters.wo,
      },
      sync: syncJson(d),
    })),
  };
}

/** The text `udrbd status --json` prints: pretty-printed (2 spaces), one trailing newline. */
export function renderStatusJson(devices: readonly StatusJsonDeviceInput[]): string {
  return `${JSON.stringify(statusJson(devices), null, 2)}\n`;
}
