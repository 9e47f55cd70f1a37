// One resync of a volume, as the control plane sees it: the request budget of every 100 ms
// tick (the controller in src/state), the progress marks behind the status file's bar and
// speed, and the numbers of the "Resync done" line. Data moves in native code.
import type { DiskOptions, NetOptions } from '../config/resolve.js';
import type { PeerLink } from '../engine/peer-link.js';
import {
  TICK_MS,
  controllerReset,
  controllerTick,
  onRequestsSent,
  resyncDoneLine,
  type ControllerSettings,
  type ControllerState,
} from '../state/index.js';
import { advanceSyncMarks, startSyncMarks, type SyncMarks, type SyncProgressInput } from '../status/index.js';

export type ResyncRole = 'source' | 'target';

export class ResyncRun {
  readonly startMs = Date.now();
  private marks: SyncMarks;
  private controller: ControllerState;
  private readonly settings: ControllerSettings;
  private timer: NodeJS.Timeout | undefined;
  private wantKiBps = 0;
  private leftBits: number;
  private lastTick = performance.now();
  private readonly csumsAlg: string;

  constructor(
    readonly role: ResyncRole,
    readonly totalBits: number,
    private readonly link: PeerLink,
    disk: DiskOptions,
    net: NetOptions,
  ) {
    this.csumsAlg = net.csumsAlg ?? '';
    this.settings = {
      resyncRateKiBps: disk.resyncRateKiBps,
      cPlanAhead: disk.cPlanAheadDeciSec,
      cDelayTarget: disk.cDelayTargetDeciSec,
      cFillTarget: disk.cFillTargetSectors,
      cMaxRateKiBps: disk.cMaxRateKiBps,
      maxBuffers: net.maxBuffers,
    };
    this.controller = controllerReset(this.settings);
    this.marks = startSyncMarks(this.startMs, totalBits);
    this.leftBits = totalBits;
  }

  /** Starts moving data; only the SyncTarget generates requests (pull model, resync.md §3). */
  start(): void {
    this.link.startResync(this.role, { maxBioSize: 1 << 20, csumsAlg: this.csumsAlg });
    this.lastTick = performance.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  private tick(): void {
    const st = this.link.resyncStatus();
    this.leftBits = st.bitsLeft - st.failedBits;
    this.marks = advanceSyncMarks(this.marks, Date.now(), this.leftBits, false);
    if (this.role !== 'target') return;
    const r = controllerTick(this.controller, st.sectIn, this.settings);
    this.wantKiBps = r.cSyncRateKiBps;
    this.controller = r.state;
    // The controller counts in 100 ms ticks; timers on a busy machine fire late, so the
    // budget follows the time that really passed (at most two ticks' worth).
    const now = performance.now();
    const ticks = Math.min(2, (now - this.lastTick) / TICK_MS);
    this.lastTick = now;
    const number = Math.round(r.number * ticks);
    if (number > 0) {
      const sent = this.link.resyncTick(number);
      this.controller = onRequestsSent(this.controller, sent);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.link.stopResync();
  }

  /** The status file's progress input at this instant. */
  progress(nowMs: number, leftBits: number): SyncProgressInput {
    return {
      totalBits: this.totalBits,
      leftBits,
      marks: this.marks.marks,
      lastMark: this.marks.lastMark,
      startMs: this.startMs,
      pausedMs: 0,
      nowMs,
      wantKiBps: this.role === 'target' ? this.wantKiBps : this.settings.resyncRateKiBps,
    };
  }

  /** `Resync done (total %lu sec; paused %lu sec; %lu K/sec)` (resync.md §3 step 7). */
  doneLine(nowMs: number): string {
    return resyncDoneLine({ totalBits: this.totalBits, start: this.startMs, now: nowMs, pausedMs: 0 });
  }
}
