// Typed decoding errors for control packets. The peer link drops the connection on any of them
// (the kernel does the same on a malformed control packet).

export type ProtocolErrorCode =
  | 'ERR_PROTOCOL_LENGTH' // payload length not the exact size the command requires
  | 'ERR_PROTOCOL_VALUE' // a field holds a value that has no meaning (enum out of range, ...)
  | 'ERR_PROTOCOL_COMMAND' // not a control packet this module owns
  | 'ERR_PROTOCOL_ARGUMENT'; // encoder given a value that cannot be sent

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    readonly command?: string,
  ) {
    super(command ? `${command}: ${message}` : message);
  }
}

/** Throws ERR_PROTOCOL_LENGTH unless the payload has exactly one of the allowed sizes. */
export function expectLength(command: string, payload: Uint8Array, ...sizes: number[]): void {
  if (!sizes.includes(payload.length)) {
    throw new ProtocolError(
      'ERR_PROTOCOL_LENGTH',
      `payload of ${payload.length} bytes, expected ${sizes.join(' or ')}`,
      command,
    );
  }
}
