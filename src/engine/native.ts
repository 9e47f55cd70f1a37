// The only place that loads the native addon (see DESIGN.md: src/engine is the boundary).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Synchronous positioned I/O on a backing file or block device (offline tools). */
export interface NativeBackingStore {
  readonly sizeBytes: number;
  readonly isBlockDevice: boolean;
  readAt(offset: number, length: number): Buffer;
  writeAt(offset: number, data: Buffer): void;
  flush(): void;
  close(): void;
}

export interface NativeAddon {
  BackingStore: new (path: string, writable: boolean, exclusive: boolean) => NativeBackingStore;
}

function findAddon(): string {
  // src/engine/native.ts (vitest) and dist/engine/native.js (built) are both two levels
  // below the package root.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const file = join(root, 'build', 'Release', 'udrbd.node');
  if (!existsSync(file)) {
    throw new Error(`udrbd native addon not built (${file} missing): run "npm install" in ${root}`);
  }
  return file;
}

let loaded: NativeAddon | undefined;

export function native(): NativeAddon {
  loaded ??= createRequire(import.meta.url)(findAddon()) as NativeAddon;
  return loaded;
}
