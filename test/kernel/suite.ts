// Suite setup that fails tests instead of skipping them. When a vitest beforeAll throws,
// the suite's tests are reported as skipped; the rig's rule is that a missing package or
// a guest that will not boot fails every test with the reason. So the setup runs in
// beforeAll, but its error is kept and rethrown by each test that asks for the result.
import { afterAll, beforeAll } from 'vitest';

export function suiteSetup<T>(setup: () => Promise<T>, teardown: (value: T) => Promise<void>): () => T {
  let value: T | undefined;
  let error: unknown;
  let done = false;
  beforeAll(async () => {
    try {
      value = await setup();
    } catch (err) {
      error = err;
    }
    done = true;
  });
  afterAll(async () => {
    if (value !== undefined) await teardown(value);
  });
  return () => {
    if (!done) throw new Error('suite setup has not run');
    if (error !== undefined) throw error;
    return value as T;
  };
}
