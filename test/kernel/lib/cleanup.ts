// Last-resort cleanup for the kernel rig: whatever a test leaves running (qemu processes,
// network namespaces, run directories) is torn down when the test process exits, even on
// an uncaught exception or SIGINT/SIGTERM. Handlers must be synchronous: 'exit' listeners
// cannot await. A SIGKILLed test process is covered by qemu's parent-death signal and by
// the stale sweeps in netns.ts and rundir.ts on the next run.

type Cleanup = () => void;

const pending = new Map<number, Cleanup>();
let nextId = 1;
let installed = false;

function runAll(): void {
  // Newest first: a guest registered after its namespace must die before the namespace goes.
  const ids = [...pending.keys()].sort((a, b) => b - a);
  for (const id of ids) {
    const fn = pending.get(id);
    pending.delete(id);
    try {
      fn?.();
    } catch {
      // Best effort: one failing teardown must not keep the others from running.
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', runAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      runAll();
      // Our once-listener is gone now, so re-raising gets the default action (or whatever
      // other listeners the test runner installed).
      process.kill(process.pid, sig);
    });
  }
}

/** Registers a synchronous teardown; call the returned function once torn down normally. */
export function registerCleanup(fn: Cleanup): () => void {
  install();
  const id = nextId++;
  pending.set(id, fn);
  return () => {
    pending.delete(id);
  };
}
