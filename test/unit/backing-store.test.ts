import { mkdtempSync, rmSync, writeFileSync, readFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../../src/engine/native.js';

describe('native BackingStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'udrbd-bs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports the size of a sparse file and does positioned I/O', () => {
    const file = join(dir, 'disk.img');
    writeFileSync(file, '');
    truncateSync(file, 64 << 20);
    const bs = new (native().BackingStore)(file, true, true);
    expect(bs.sizeBytes).toBe(64 << 20);
    expect(bs.isBlockDevice).toBe(false);
    bs.writeAt(4096 * 3, Buffer.from('drbd'));
    bs.flush();
    expect(bs.readAt(4096 * 3, 4).toString()).toBe('drbd');
    bs.close();
    expect(readFileSync(file).subarray(4096 * 3, 4096 * 3 + 4).toString()).toBe('drbd');
  });

  it('names the path and the reason when it cannot open or read', () => {
    expect(() => new (native().BackingStore)(join(dir, 'nope'), false, false)).toThrow(/cannot open .*nope: No such file/);
    const file = join(dir, 'small.img');
    writeFileSync(file, Buffer.alloc(512));
    const bs = new (native().BackingStore)(file, false, false);
    expect(() => bs.readAt(0, 1024)).toThrow(/unexpected end of device/);
    bs.close();
    expect(() => bs.readAt(0, 1)).toThrow(/closed/);
  });
});
