// Test support: reads the "DRBD packets, detailed" section of the captures' .txt files (tshark's
// decode) into one record per DRBD packet: the command name and the top-level "key: value" lines.
// Used to cross-check our decoders against an independent dissector. tshark uses DRBD 9 names
// for state fields, so state words are compared as numbers, not names.
import { readFileSync } from 'node:fs';

export interface TsharkPacket {
  command: string;
  /** top-level fields in order; repeated keys (History UUID) are kept in order */
  fields: [string, string][];
}

export function readTsharkTxt(path: string): TsharkPacket[] {
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf('## DRBD packets, detailed');
  if (start < 0) throw new Error(`${path}: no detailed section`);
  const out: TsharkPacket[] = [];
  let cur: TsharkPacket | undefined;
  for (const line of text.slice(start).split('\n')) {
    const head = /^DRBD \[(P_[A-Z0-9_]+)\]$/.exec(line);
    if (head) {
      cur = { command: head[1], fields: [] };
      out.push(cur);
      continue;
    }
    const kv = /^ {4}([^ :][^:]*): ?(.*)$/.exec(line);
    if (kv && cur) cur.fields.push([kv[1], kv[2]]);
    else if (!line.startsWith('    ')) cur = undefined;
  }
  return out;
}

/** All values of one key, in order. */
export function fieldValues(p: TsharkPacket, key: string): string[] {
  return p.fields.filter(([k]) => k === key).map(([, v]) => v);
}

/** The leading number of a tshark value ("278440 (0x43fa8)", "0x00000102, rw_sync", "250KiB/s"). */
export function leadingBigInt(v: string): bigint {
  const m = /^(0x[0-9a-fA-F]+|\d+)/.exec(v.trim());
  if (!m) throw new Error(`not a number: "${v}"`);
  return BigInt(m[1]);
}
