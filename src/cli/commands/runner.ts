// Runs low-level steps the way drbdadm 8.4 runs drbdsetup/drbdmeta: the child's output goes
// out verbatim, a failure with code ≥ 10 adds `Command '<argv>' terminated with exit code N`,
// and the child's code becomes drbdadm's. With -d the command lines are printed instead.
import { DaemonNotRunning, request } from '../../daemon/control-client.js';
import { dryRunLine, type DaemonStep, type MetaStep, type Step, type Unit } from './lowlevel.js';
import { fallbackDecision, type OfflineMetaTool } from './offline-meta.js';

/** What drbdadm gets from outside: where udrbdd listens, how to start it, the meta-data tool. */
export interface DrbdadmDeps {
  runDir: string;
  /** Starts udrbdd unless it answers already (`up` loads the "module" on first use). */
  startDaemon(runDir: string): Promise<void>;
  /** drbdmeta's operations; undefined until the meta-data tool is plugged in (see drbdadm.ts). */
  offline: OfflineMetaTool | undefined;
}

export interface Reply {
  exitCode: number;
  stdout: string;
  stderr: string;
  result?: unknown;
}

/** drbdsetup's texts are whole lines; a daemon text without its final newline still ends one,
 * so the next line (the `Command ...` line) does not run into it. */
const line = (s: string) => (s && !s.endsWith('\n') ? `${s}\n` : s);
const out = (s: string) => {
  if (s) process.stdout.write(line(s));
};
const err = (s: string) => {
  if (s) process.stderr.write(line(s));
};

export function wrapperLine(argv: readonly string[], code: number): string {
  return `Command '${argv.join(' ')}' terminated with exit code ${code}\n`;
}

/**
 * What drbdsetup reports when the kernel has no such object — udrbd's answer while udrbdd is
 * not running (nothing is configured on this node). Wording from the 8.4 captures
 * (spec/kernel-captures/cli-errors-01-outputs.txt) and drbd_adm_prepare's checks.
 */
export function unconfiguredReply(step: DaemonStep): Reply {
  switch (step.cmd) {
    case 'down':
      // Nothing is up, so there is nothing to take down.
      return { exitCode: 0, stdout: '', stderr: '' };
    case 'disconnect':
      return { exitCode: 10, stdout: '', stderr: '??: Failure: (162) Invalid configuration request\nadditional info from kernel:\nunknown connection\n' };
    case 'new-resource':
    case 'connect':
    case 'show':
      return { exitCode: 10, stdout: '', stderr: `${step.object}: Failure: (162) Invalid configuration request\nadditional info from kernel:\nunknown resource\n` };
    default:
      return { exitCode: 10, stdout: '', stderr: `${step.object}: Failure: (127) Device minor not allocated\nadditional info from kernel:\nunknown minor\n` };
  }
}

export class Runner {
  constructor(
    readonly deps: DrbdadmDeps,
    readonly dryRun: boolean,
  ) {}

  /** One request to udrbdd; a daemon that is not running answers like an empty kernel. */
  async ask(step: DaemonStep): Promise<Reply> {
    try {
      const r = await request(this.deps.runDir, step.cmd, step.args as Record<string, unknown>);
      return { exitCode: r.exitCode, stdout: r.stdout ?? '', stderr: r.stderr ?? '', result: r.result };
    } catch (e) {
      if (e instanceof DaemonNotRunning) return unconfiguredReply(step);
      throw e;
    }
  }

  private report(argv: readonly string[], r: Reply, wrapper = true): number {
    out(r.stdout);
    err(r.stderr);
    if (wrapper && r.exitCode >= 10) err(wrapperLine(argv, r.exitCode));
    return r.exitCode;
  }

  private async runMeta(step: MetaStep): Promise<number> {
    const tool = this.deps.offline;
    // Without a meta-data tool apply-al has nothing to replay into: udrbdd's attach reads the
    // activity log itself. Other offline operations only run as fallbacks (handled there).
    if (!tool) return 0;
    const r = await tool.run(step.op, step.target, step.options);
    return this.report(step.argv, { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr });
  }

  /** Runs (or with -d prints) one step; resolves to its exit code. */
  async run(step: Step): Promise<number> {
    if (this.dryRun) {
      out(`${dryRunLine(step.argv)}\n`);
      if (step.kind === 'daemon' && step.fallback) out(`${dryRunLine(step.fallback.meta.argv)}\n`);
      return 0;
    }
    if (step.kind === 'meta') return this.runMeta(step);
    const answer = await this.ask(step);
    if (!step.fallback) return this.report(step.argv, answer);
    return this.runWithOfflineFallback(step, answer);
  }

  /** The fallback rule (offline-meta.ts): the daemon's answer, or the offline step instead. */
  private async runWithOfflineFallback(step: DaemonStep, answer: Reply): Promise<number> {
    const fb = step.fallback as NonNullable<DaemonStep['fallback']>;
    const decision = fallbackDecision(fb.rule, answer);
    if (decision.kind === 'daemon') {
      if (decision.print) this.report(step.argv, answer, false);
      return answer.exitCode;
    }
    // No meta-data tool to fall back to: the daemon's answer is all there is.
    if (!this.deps.offline) return this.report(step.argv, answer);
    return this.runMeta(fb.meta);
  }

  /** Steps in order; the first failure ends the sequence with its code. */
  async runSequence(steps: readonly Step[]): Promise<number> {
    for (const s of steps) {
      const code = await this.run(s);
      if (code !== 0) return code;
    }
    return 0;
  }

  /**
   * drbdadm 8.4's deferred execution (`up`, `adjust`): all units of a stage, across resources,
   * before the next stage. A failed unit skips the later units of its scope in that stage
   * (`drbdadm: new-minor r0: skipped due to earlier error`); after a stage with a failure no
   * further stage runs, and drbdadm exits 1 whatever the child's code was.
   */
  async runStaged(units: readonly Unit[]): Promise<number> {
    const stages = [...new Set(units.map((u) => u.stage))].sort((a, b) => a - b);
    const failed = new Set<string>();
    for (const stage of stages) {
      let stageFailed = false;
      for (const u of units.filter((x) => x.stage === stage)) {
        const volumeKey = `${u.resource}/${u.volume}`;
        if (failed.has(u.resource) || (u.volume !== undefined && failed.has(volumeKey))) {
          err(`drbdadm: ${u.name} ${u.resource}: skipped due to earlier error\n`);
          continue;
        }
        if ((await this.runSequence(u.steps)) !== 0) {
          stageFailed = true;
          failed.add(u.scope === 'volume' ? volumeKey : u.resource);
        }
      }
      if (stageFailed) return 1;
    }
    return 0;
  }
}
