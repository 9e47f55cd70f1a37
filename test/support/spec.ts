// The shared specification (spec/ with the kernel captures) sits beside the repository:
// <root>/../shared/spec, in a developer's checkout and in CI's clone alike.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

export const SPEC_DIR = resolve(ROOT, '..', 'shared', 'spec');

/** A path under spec/; fails loudly (never skips) when the shared folder is missing. */
export function specPath(...parts: string[]): string {
  if (!existsSync(SPEC_DIR)) {
    throw new Error(`the shared specification is missing: expected ${SPEC_DIR} (shared/ beside the repository)`);
  }
  return join(SPEC_DIR, ...parts);
}
