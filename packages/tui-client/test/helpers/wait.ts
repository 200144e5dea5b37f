/**
 * How long `vi.waitFor` keeps checking a condition in these tests: its
 * default (1 s) is too short for a loaded 2-core CI machine.
 */
export const WAIT = { timeout: 5000, interval: 20 } as const;
