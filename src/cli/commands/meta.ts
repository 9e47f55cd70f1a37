// drbdmeta's half of drbdadm. drbdadm 8.4 runs `drbdmeta MINOR v08 DISK INDEX CMD`; udrbd does
// the same work in-process (src/meta through src/engine/metadata-store) and reports like
// drbdadm: the tool's exit code, plus `Command '…' terminated with exit code N` when N ≥ 10.
// create-md, dump-md and apply-al are commands of their own; get-gi, show-gi, dstate,
// invalidate and outdate ask the daemon first and come here as the fallback (offlineMeta).
import { createInterface } from 'node:readline';
import type { DrbdadmArgs } from '../drbdadm-args.js';
import type { DrbdadmCommand } from '../drbdadm-commands.js';
import { resolveVolumes, thisHost, type TargetVolume } from './resolve-target.js';
import { openMetaTarget, type VolumeMetaSpec } from '../../engine/metadata-store.js';
import { MetaDataError } from '../../meta/errors.js';
import { metaIndexWord, metaKindOf } from '../../meta/layout.js';
import { applyAl, createMd, dstate, dumpMd, getGi, invalidate, outdate, showGi, type Confirm, type MetaTarget, type ToolOutput } from '../../meta/tools.js';
import type { OfflineMetaTool, OfflineResult } from './offline-meta.js';
import type { MetaOp, MetaTarget as LowLevelTarget } from './lowlevel.js';
import { request } from '../../daemon/control-client.js';
import { runDir } from '../../daemon/run-dir.js';
import type { NodeStatus } from '../../daemon/commands.js';

const stdio: ToolOutput = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/** Reads one line from stdin (the answer to a confirmation question). */
function readLine(): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, terminal: false });
    let done = false;
    const finish = (s: string): void => {
      if (done) return;
      done = true;
      rl.close();
      resolve(s);
    };
    rl.once('line', finish);
    rl.once('close', () => finish(''));
  });
}

/**
 * drbdmeta's confirmation: print the question; with --force accept at once; without a
 * terminal refuse (never wait on a pipe); else require the line "yes".
 */
export function makeConfirm(opts: { force: boolean; isTTY: boolean; err: (t: string) => void; readLine: () => Promise<string> }): Confirm {
  return async (question) => {
    opts.err(`\n${question}\n`);
    if (opts.force) {
      opts.err('*** confirmation forced via --force option ***\n');
      return true;
    }
    if (!opts.isTTY) {
      opts.err('stdin not a TTY, not waiting for confirmation\n');
      return false;
    }
    opts.err("[need to type 'yes' to confirm] ");
    const answer = await opts.readLine();
    opts.err('\n');
    return answer === 'yes';
  };
}

/** The drbdmeta command line drbdadm 8.4 would run for this volume (for its messages). */
export function drbdmetaCommandLine(v: TargetVolume, cmd: string, extra: string[] = []): string {
  const kind = metaKindOf(v.metaDisk);
  const md = v.metaDisk.kind === 'internal' ? v.disk : v.metaDisk.path;
  return ['drbdmeta', String(v.minor), 'v08', md, metaIndexWord(kind), cmd, ...extra].join(' ');
}

type Tool = (t: MetaTarget, v: TargetVolume, args: DrbdadmArgs) => Promise<number> | number;

// Options were checked against the command table's list by drbdadm.ts.
function metaCommand(name: string, writable: boolean, tool: Tool): DrbdadmCommand {
  return {
    async run(args) {
      const volumes = await resolveVolumes(args);
      let rc = 0;
      for (const v of volumes) {
        const spec: VolumeMetaSpec = { minor: v.minor, diskPath: v.disk, metaDisk: v.metaDisk };
        let code: number;
        try {
          const opened = openMetaTarget(spec, { writable });
          try {
            code = await tool(opened.target, v, args);
          } finally {
            opened.close();
          }
        } catch (e) {
          if (!(e instanceof MetaDataError)) throw e;
          if (e.message) process.stderr.write(`${e.message}\n`);
          code = e.exitCode;
        }
        if (code >= 10) {
          process.stderr.write(`Command '${drbdmetaCommandLine(v, name, allOptions(args))}' terminated with exit code ${code}\n`);
        }
        // drbdadm stops at the first failing volume and exits with its code.
        if (code !== 0) return code;
        rc = code;
      }
      return rc;
    },
  };
}

const allOptions = (args: DrbdadmArgs): string[] => [...args.setupOptions, ...args.commandOptions];
const hasForce = (args: DrbdadmArgs): boolean => allOptions(args).includes('--force');

export const META_COMMANDS: Record<string, DrbdadmCommand> = {
  'create-md': metaCommand('create-md', true, (t, _v, args) =>
    createMd(t, {
      output: stdio,
      confirm: makeConfirm({ force: hasForce(args), isTTY: process.stdin.isTTY === true, err: stdio.err, readLine }),
    }),
  ),
  'dump-md': metaCommand('dump-md', false, (t, _v, args) =>
    dumpMd(t, {
      output: stdio,
      force: false,
      header: { now: new Date(), hostname: thisHost(), commandLine: ['drbdadm', 'dump-md', ...args.positionals].join(' ') },
    }),
  ),
  'apply-al': metaCommand('apply-al', true, (t) => applyAl(t, stdio)),
};

const OFFLINE_OPS: Record<MetaOp, { writable: boolean; tool: (t: MetaTarget, o: ToolOutput) => number }> = {
  'apply-al': { writable: true, tool: applyAl },
  dstate: { writable: false, tool: dstate },
  'get-gi': { writable: false, tool: getGi },
  'show-gi': { writable: false, tool: showGi },
  invalidate: { writable: true, tool: invalidate },
  outdate: { writable: true, tool: outdate },
};

/** True when udrbdd has this minor attached (its meta-data is in use). */
async function attachedByDaemon(minor: number): Promise<boolean> {
  try {
    const res = await request(runDir(), 'status', {}, 5000);
    const st = res.result as NodeStatus | undefined;
    return st?.devices.some((d) => d.device.minor === minor && d.device.ds !== 'Diskless') ?? false;
  } catch {
    return false; // no daemon: nothing is attached
  }
}

/** The meta-data tool drbdadm falls back to (and runs apply-al with) — drbdmeta's role. */
export const offlineMeta: OfflineMetaTool = {
  async run(op: MetaOp, target: LowLevelTarget): Promise<OfflineResult> {
    let stdout = '';
    let stderr = '';
    const out: ToolOutput = { out: (t) => void (stdout += t), err: (t) => void (stderr += t) };
    const { writable, tool } = OFFLINE_OPS[op];
    // drbdmeta refuses to modify meta-data the kernel has attached.
    if (writable && (await attachedByDaemon(target.minor))) {
      return { exitCode: 20, stdout, stderr: `Device '${target.minor}' is configured!\n` };
    }
    try {
      const opened = openMetaTarget({ minor: target.minor, diskPath: target.disk, metaDisk: target.metaDisk }, { writable });
      try {
        return { exitCode: tool(opened.target, out), stdout, stderr };
      } finally {
        opened.close();
      }
    } catch (e) {
      if (!(e instanceof MetaDataError)) throw e;
      return { exitCode: e.exitCode, stdout, stderr: stderr + (e.message ? `${e.message}\n` : '') };
    }
  },
};
