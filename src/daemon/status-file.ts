// The status file: the /proc/drbd text, replaced atomically (write a temporary file, then
// rename) so a reader never sees half a file.
import { writeFileSync, renameSync } from 'node:fs';

export function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}
