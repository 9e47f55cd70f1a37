// Per-test artifact folders: test-artifacts/kernel/<test>/.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS_ROOT } from './paths.js';

/** Empties a test's artifact folder (call once before its guests start) and returns its path. */
export function resetArtifacts(test: string): string {
  const dir = join(ARTIFACTS_ROOT, test);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}
