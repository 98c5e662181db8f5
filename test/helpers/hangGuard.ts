/**
 * No test asserts on elapsed time: timeouts are only guards against a hang. vitest.config.ts
 * gives every test and hook 300 s; a child process is killed after CHILD_HANG_GUARD_MS, a bit
 * less, so that its test fails with what the child printed rather than with a bare timeout.
 * Both are far beyond what any test takes, even with two copies of the suite on two cores.
 */
export const CHILD_HANG_GUARD_MS = 240_000;
