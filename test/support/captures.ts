// Test support: the golden kernel captures (shared/spec/kernel-captures/wire), split into DRBD
// packets and paired with tshark's decode of the same packets.
import { readdirSync } from 'node:fs';
import { specPath } from './spec.js';
import { join } from 'node:path';
import { readDrbdFrames, type DrbdFrame } from './drbd-frames.js';
import { readTsharkTxt, type TsharkPacket } from './tshark-txt.js';

export const CAPTURE_DIR = specPath('kernel-captures', 'wire');

export const CAPTURES: string[] = readdirSync(CAPTURE_DIR)
  .filter((f) => f.endsWith('.pcap'))
  .map((f) => f.slice(0, -'.pcap'.length))
  .sort();

export interface Capture {
  name: string;
  /** DRBD packets in the order tshark lists them (by the frame that completes them). */
  frames: DrbdFrame[];
  tshark: TsharkPacket[];
}

const cache = new Map<string, Capture>();

export function loadCapture(name: string): Capture {
  let c = cache.get(name);
  if (!c) {
    const frames = readDrbdFrames(join(CAPTURE_DIR, `${name}.pcap`)).sort((a, b) => a.endFrame - b.endFrame || a.index - b.index);
    c = { name, frames, tshark: readTsharkTxt(join(CAPTURE_DIR, `${name}.txt`)) };
    cache.set(name, c);
  }
  return c;
}

/** Agreed protocol to decode a frame's header with: 80 for h80 frames, 101 (captured) otherwise. */
export const agreedOf = (f: DrbdFrame): number => (f.kind === 'h80' ? 80 : 101);

/** The captures' kernels agreed feature flags 0xf (README). */
export const CAPTURE_FEATURES = 0xf;

/** Digest sizes configured in the captures (README net config): csums md5, verify crc32c. */
export const CAPTURE_DIGESTS: Record<string, number> = { P_CSUM_RS_REQUEST: 16, P_OV_REPLY: 4 };

/** The 136 MiB test disk: 34805 bitmap bits. */
export const CAPTURE_BM_BITS = 34805;
