// Helpers for the meta-data tests against the reference drbdmeta (drbd-utils 9.22).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMetaTarget, type VolumeMetaSpec } from '../../src/engine/metadata-store.js';
import type { MetaTarget, ToolOutput } from '../../src/meta/tools.js';

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

/** Runs a udrbd meta tool on an opened target, capturing its output. */
export async function udrbd(
  spec: VolumeMetaSpec,
  tool: (t: MetaTarget, out: Capture) => number | Promise<number>,
  writable = false,
): Promise<Run> {
  const cap = new Capture();
  const opened = openMetaTarget(spec, { writable });
  try {
    const code = await tool(opened.target, cap);
    return { stdout: cap.stdout, stderr: cap.stderr, code };
  } finally {
    opened.close();
  }
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
