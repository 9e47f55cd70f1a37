// Helpers for the meta-data tests against the reference drbdmeta (drbd-utils 9.22).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMetaTarget, type VolumeMetaSpec } from '../../src/engine/metadata-store.js';
import type { MetaTarget, ToolOutput } from '../../src/meta/tools.js';
import { MetaDataError } from '../../src/meta/errors.js';

/**
 * The minor number given to drbdmeta. drbdmeta keeps "last known device" files per minor
 * in /var/lib/drbd; an otherwise unused minor keeps these tests away from anything else.
 */
export const MINOR = 247;

export function drbdmetaPath(): string {
  const r = spawnSync('sh', ['-c', 'command -v drbdmeta'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status !== 0 || !path) {
    throw new Error('drbdmeta (Debian package drbd-utils) is required by these tests: run scripts/install-deps.sh or apt-get install drbd-utils');
  }
  return path;
}

export interface Run {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Runs `drbdmeta --force MINOR v08 ARGS…`. --force is needed because drbdmeta refuses
 * regular files otherwise; stdin is empty (no terminal).
 */
export function drbdmeta(args: string[], opts: { force?: boolean; input?: string } = {}): Run {
  const argv = [...(opts.force === false ? [] : ['--force']), String(MINOR), 'v08', ...args];
  const r = spawnSync(drbdmetaPath(), argv, { encoding: 'utf8', input: opts.input ?? '', maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  // drbdmeta's notes about files not being block devices are noise here.
  const stderr = r.stderr
    .split('\n')
    .filter((l) => !/BLKSSZGET|BLKZEROOUT|to all zero using pwrite/.test(l))
    .join('\n');
  return { stdout: r.stdout, stderr, code: r.status ?? -1 };
}

/** dump-md text without the three header comment lines (title, time, command). */
export function stripDumpHeader(text: string): string {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l === '# DRBD meta data dump');
  if (i < 0) throw new Error(`not a dump:\n${text.slice(0, 500)}`);
  lines.splice(i, 3);
  return lines.join('\n');
}

export class Capture implements ToolOutput {
  stdout = '';
  stderr = '';
  out = (t: string): void => {
    this.stdout += t;
  };
  err = (t: string): void => {
    this.stderr += t;
  };
}

type MetaTool = (t: MetaTarget, out: Capture) => number | Promise<number>;

/** Opens the target, runs the tool with output into `cap`, closes the target. */
async function runOn(spec: VolumeMetaSpec, tool: MetaTool, writable: boolean, cap: Capture): Promise<Run> {
  const opened = openMetaTarget(spec, { writable });
  try {
    const code = await tool(opened.target, cap);
    return { stdout: cap.stdout, stderr: cap.stderr, code };
  } finally {
    opened.close();
  }
}

/** Runs a udrbd meta tool on an opened target, capturing its output. */
export async function udrbd(spec: VolumeMetaSpec, tool: MetaTool, writable = false): Promise<Run> {
  return runOn(spec, tool, writable, new Capture());
}

export function makeTmpDir(tag: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `udrbd-${tag}-`));
  return {
    dir,
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
      // drbdmeta's last-known-device record for our minor.
      for (const f of [`/var/lib/drbd/drbd${MINOR}`, `/var/lib/drbd/drbd-minor-${MINOR}.lkbd`]) if (existsSync(f)) rmSync(f, { force: true });
    },
  };
}

/** A sparse file of `bytes` (no data blocks allocated). */
export function sparseFile(path: string, bytes: number): string {
  writeFileSync(path, '');
  truncateSync(path, bytes);
  return path;
}

/**
 * Transactions as the 8.4 kernel writes them: an LRU set of nSlots slots; each transaction
 * changes 1–3 slots and carries a rotating 919-slot window of the whole set. Returns the
 * transactions and the active set after the last one.
 */
export function simulateAlTransactions(opts: {
  nSlots: number;
  count: number;
  firstTr: number;
  extents: number[];
  seed: number;
}): { transactions: import('../../src/meta/activity-log.js').AlTransaction[]; active: number[] } {
  const FREE = 0xffffffff;
  const slots = new Array<number>(opts.nSlots).fill(FREE);
  let seed = opts.seed >>> 0;
  const rnd = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
  let ctxStart = 0;
  const transactions = [];
  for (let n = 0; n < opts.count; n++) {
    const updates = [];
    const k = 1 + (rnd() % 3);
    for (let u = 0; u < k; u++) {
      const slot = rnd() % opts.nSlots;
      const extent = opts.extents[rnd() % opts.extents.length];
      slots[slot] = extent;
      updates.push({ slot, extent });
    }
    const context = [];
    for (let i = 0; i < 919; i++) context.push(ctxStart + i < opts.nSlots ? slots[ctxStart + i] : FREE);
    transactions.push({ trNumber: (opts.firstTr + n) >>> 0, type: 0, updates, contextSize: opts.nSlots, contextStartSlot: ctxStart, context });
    ctxStart += 919;
    if (ctxStart >= opts.nSlots) ctxStart = 0;
  }
  const active = [...new Set(slots.filter((e) => e !== FREE))].sort((a, b) => a - b);
  return { transactions, active };
}

/** Bytes [offset, offset + length) of a file. */
export function readRange(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** Overwrites bytes of a file in place. */
export function patchFile(path: string, offset: number, data: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, data, 0, data.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** A sparse copy of a file. */
export function sparseCopy(from: string, to: string): string {
  const r = spawnSync('cp', ['--sparse=always', from, to]);
  if (r.status !== 0) throw new Error(`cp failed: ${r.stderr}`);
  return to;
}

/**
 * Like udrbd(), but as drbdadm reports it: a MetaDataError becomes its message on stderr
 * and its exit code.
 */
export async function udrbdCli(spec: VolumeMetaSpec, tool: MetaTool, writable = false): Promise<Run> {
  const cap = new Capture();
  try {
    return await runOn(spec, tool, writable, cap);
  } catch (e) {
    if (!(e instanceof MetaDataError)) throw e;
    if (e.message) cap.err(`${e.message}\n`);
    return { stdout: cap.stdout, stderr: cap.stderr, code: e.exitCode };
  }
}

/** Attaches a file to a free loop device (root); returns the device path. */
export function loopAttach(file: string): string {
  const r = spawnSync('losetup', ['-f', '--show', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`losetup failed (these tests need root and /dev/loop*): ${r.stderr}`);
  return r.stdout.trim();
}

export function loopDetach(dev: string): void {
  spawnSync('losetup', ['-d', dev]);
}

/** Runs a command, failing with a clear message when it is missing. */
export function must(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (install e2fsprogs/xfsprogs/util-linux): ${r.error?.message ?? r.stderr}`);
}
