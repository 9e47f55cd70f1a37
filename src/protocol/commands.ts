// DRBD 8.4.11 command numbers (wire-protocol-84.md §3): name <-> number, socket, payload size,
// and which half of the codec owns the packet (docs/architecture.md "Who owns which packet").

export type Socket = 'data' | 'meta' | 'both' | 'none';

export interface CommandSpec {
  readonly name: string;
  readonly cmd: number;
  /** Socket the packet travels on; 'none' = obsolete / never valid at 8.4.11. */
  readonly sock: Socket;
  /** Exact payload size, or 'variable'. P_SIZES: 32 here, 56 with FF_WSAME (see payloadSize). */
  readonly size: number | 'variable';
  /** 'protocol' = decoded by src/protocol (control packets), 'native' = native/wire.* */
  readonly owner: 'protocol' | 'native';
}

const c = (name: string, cmd: number, sock: Socket, size: number | 'variable', owner: 'protocol' | 'native' = 'native'): CommandSpec => ({
  name,
  cmd,
  sock,
  size,
  owner,
});

export const COMMANDS: readonly CommandSpec[] = [
  c('P_DATA', 0x00, 'data', 'variable'),
  c('P_DATA_REPLY', 0x01, 'data', 'variable'),
  c('P_RS_DATA_REPLY', 0x02, 'data', 'variable'),
  c('P_BARRIER', 0x03, 'data', 8),
  c('P_BITMAP', 0x04, 'data', 'variable'),
  c('P_BECOME_SYNC_TARGET', 0x05, 'none', 'variable'),
  c('P_BECOME_SYNC_SOURCE', 0x06, 'none', 'variable'),
  c('P_UNPLUG_REMOTE', 0x07, 'data', 0),
  c('P_DATA_REQUEST', 0x08, 'data', 24),
  c('P_RS_DATA_REQUEST', 0x09, 'data', 24),
  c('P_SYNC_PARAM', 0x0a, 'none', 'variable'),
  c('P_PROTOCOL', 0x0b, 'data', 'variable', 'protocol'),
  c('P_UUIDS', 0x0c, 'data', 48, 'protocol'),
  c('P_SIZES', 0x0d, 'data', 32, 'protocol'),
  c('P_STATE', 0x0e, 'data', 4, 'protocol'),
  c('P_SYNC_UUID', 0x0f, 'data', 8, 'protocol'),
  c('P_AUTH_CHALLENGE', 0x10, 'data', 'variable'),
  c('P_AUTH_RESPONSE', 0x11, 'data', 'variable'),
  c('P_STATE_CHG_REQ', 0x12, 'data', 8, 'protocol'),
  c('P_PING', 0x13, 'meta', 0),
  c('P_PING_ACK', 0x14, 'meta', 0),
  c('P_RECV_ACK', 0x15, 'meta', 24),
  c('P_WRITE_ACK', 0x16, 'meta', 24),
  c('P_RS_WRITE_ACK', 0x17, 'meta', 24),
  c('P_SUPERSEDED', 0x18, 'meta', 24),
  c('P_NEG_ACK', 0x19, 'meta', 24),
  c('P_NEG_DREPLY', 0x1a, 'meta', 24),
  c('P_NEG_RS_DREPLY', 0x1b, 'meta', 24),
  c('P_BARRIER_ACK', 0x1c, 'meta', 8),
  c('P_STATE_CHG_REPLY', 0x1d, 'meta', 4, 'protocol'),
  c('P_OV_REQUEST', 0x1e, 'data', 24),
  c('P_OV_REPLY', 0x1f, 'data', 'variable'),
  c('P_OV_RESULT', 0x20, 'meta', 24),
  c('P_CSUM_RS_REQUEST', 0x21, 'data', 'variable'),
  c('P_RS_IS_IN_SYNC', 0x22, 'meta', 24),
  c('P_SYNC_PARAM89', 0x23, 'data', 148, 'protocol'),
  c('P_COMPRESSED_BITMAP', 0x24, 'data', 'variable'),
  c('P_DELAY_PROBE', 0x27, 'both', 8),
  c('P_OUT_OF_SYNC', 0x28, 'data', 16),
  c('P_RS_CANCEL', 0x29, 'meta', 24),
  c('P_CONN_ST_CHG_REQ', 0x2a, 'data', 8, 'protocol'),
  c('P_CONN_ST_CHG_REPLY', 0x2b, 'meta', 4, 'protocol'),
  c('P_RETRY_WRITE', 0x2c, 'meta', 24),
  c('P_PROTOCOL_UPDATE', 0x2d, 'data', 'variable', 'protocol'),
  c('P_TRIM', 0x31, 'data', 28),
  c('P_RS_THIN_REQ', 0x32, 'data', 24),
  c('P_RS_DEALLOCATED', 0x33, 'data', 16),
  // Never sent by, and not accepted by, the 6.1 kernel (no handler).
  c('P_WSAME', 0x34, 'none', 'variable'),
  c('P_ZEROES', 0x36, 'data', 28),
  c('P_INITIAL_META', 0xfff1, 'meta', 0),
  c('P_INITIAL_DATA', 0xfff2, 'data', 0),
  c('P_CONNECTION_FEATURES', 0xfffe, 'data', 72),
];

const byName = new Map(COMMANDS.map((s) => [s.name, s]));
const byNumber = new Map(COMMANDS.map((s) => [s.cmd, s]));

/** Numeric command constants, e.g. CMD.P_STATE === 0x0e. */
export const CMD: Readonly<Record<string, number>> = Object.freeze(Object.fromEntries(COMMANDS.map((s) => [s.name, s.cmd])));

export function commandByNumber(cmd: number): CommandSpec | undefined {
  return byNumber.get(cmd);
}

export function commandByName(name: string): CommandSpec | undefined {
  return byName.get(name);
}

/** "P_STATE" for 0x0e; "UNKNOWN(0x1234)" for numbers 8.4 does not define. */
export function commandName(cmd: number): string {
  return byNumber.get(cmd)?.name ?? `UNKNOWN(0x${cmd.toString(16).padStart(4, '0')})`;
}

/** Feature flag bits of P_CONNECTION_FEATURES (§4.2). */
export const FF_TRIM = 1;
export const FF_THIN_RESYNC = 2;
export const FF_WSAME = 4;
export const FF_WZEROES = 8;

/** Exact payload size given the agreed feature flags, or 'variable'. */
export function payloadSize(cmd: number, agreedFeatures = 0): number | 'variable' | undefined {
  const spec = byNumber.get(cmd);
  if (!spec) return undefined;
  if (spec.name === 'P_SIZES') return agreedFeatures & FF_WSAME ? 56 : 32;
  return spec.size;
}
