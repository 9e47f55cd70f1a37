// src/state: pure decision logic of udrbd (DESIGN.md "Decisions are pure functions over plain
// data"). Nothing here does I/O; callers inject randomness, handlers and state application.
export * from './enums.js';
export * from './state.js';
export * from './errors.js';
export * from './sanitize.js';
export * from './validity.js';
export * from './state-log.js';
export * from './transitions.js';
export * from './roles.js';
export * from './attach.js';
export * from './uuids.js';
export * from './after-sb.js';
export * from './handshake.js';
export * from './resync-controller.js';
export * from './resync-after.js';
