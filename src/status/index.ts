// src/status: pure renderers of udrbd's status outputs. No I/O here; the daemon and the CLI
// gather the numbers, inject the time, and write the text where it belongs.
export * from './names.js';
export * from './format.js';
export * from './progress.js';
export * from './sync-marks.js';
export * from './proc-drbd.js';
export * from './drbdadm-status.js';
export * from './json.js';
export * from './watch.js';
