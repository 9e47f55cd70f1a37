// Shared helpers of the NBD frontend tests: required tools, a backing file with DRBD's
// internal meta-data layout. The raw NBD client (which can also misbehave on purpose) is
// src/engine/nbd-client.ts.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, openSync, closeSync, ftruncateSync } from 'node:fs';
import { promisify } from 'node:util';

export const run = promisify(execFile);

/** Throws (never skips) when a test tool is missing, naming the Debian package. */
export function requireTool(tool: string, pkg: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${tool} is required by this test but not installed: apt-get install ${pkg}`);
  }
}

/** Internal meta-data layout of spec/metadata-v08.md §1 for a backing device of SIZE bytes. */
export function internalLayout(sizeBytes: number): { usableSizeBytes: number; bitmapOffsetBytes: number; bitmapBits: number; bitmapBytes: number } {
  const s = Math.floor(sizeBytes / 512);
  const bmSect = Math.ceil(Math.ceil(s / 32768) / 8) * 8;
  const mdSize = bmSect + 8 + 64;
  const usableSect = (s - (s % 8)) - mdSize;
  return {
    usableSizeBytes: usableSect * 512,
    bitmapOffsetBytes: usableSect * 512,
    bitmapBits: Math.ceil(usableSect / 8),
    bitmapBytes: bmSect * 512,
  };
}

export function sparseFile(path: string, sizeBytes: number): void {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, sizeBytes);
  closeSync(fd);
}

export async function sha256File(path: string, length?: number): Promise<string> {
  const h = createHash('sha256');
  const stream = createReadStream(path, length === undefined ? {} : { start: 0, end: length - 1 });
  for await (const chunk of stream) h.update(chunk as Buffer);
  return h.digest('hex');
}

let nbdshPython: string | undefined;

/**
 * Runs nbdsh. nbdsh is `python3 -m nbd`, and the first python3 on PATH (e.g. a pyenv one) may
 * not see Debian's python3-libnbd module, so the interpreter that can import it is used.
 */
export async function nbdsh(args: string[]): Promise<{ stdout: string; stderr: string }> {
  if (!nbdshPython) {
    requireTool('nbdsh', 'python3-libnbd');
    for (const py of ['python3', '/usr/bin/python3']) {
      try {
        execFileSync(py, ['-c', 'import nbd'], { stdio: 'ignore' });
        nbdshPython = py;
        break;
      } catch {
        // try the next interpreter
      }
    }
    if (!nbdshPython) throw new Error('nbdsh is installed but no python3 can import nbd: apt-get install python3-libnbd');
  }
  return run(nbdshPython, ['-m', 'nbd', ...args]);
}
