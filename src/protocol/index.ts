// src/protocol: DRBD 8.4 control-packet payloads as plain objects <-> bytes. Pure: no I/O.
// The vocabulary (states, roles, policies, SS codes, UUID flags) and its semantics are src/state's;
// import those from src/state.
export * from './errors.js';
export * from './commands.js';
export * from './state.js';
export * from './state-change.js';
export * from './protocol-packet.js';
export * from './sync-param.js';
export * from './sizes.js';
export * from './uuids.js';
export * from './control.js';
