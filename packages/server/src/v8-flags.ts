import { setFlagsFromString } from 'node:v8';

/**
 * V8 flags the server sets for itself, first thing in `bin.ts` (before the
 * rest of the server is loaded: some only count from the start).
 *
 * `--no-memory-reducer-for-small-heaps`: a fresh Node process whose old
 * generation grows by 1 MB before its first full collection (loading the
 * server does) arms V8's memory reducer, which 8 s later, if the process is
 * quiet, runs up to three full collections 0.5 s apart to shrink a heap that
 * is only ≈ 8 MB. Under light chat traffic that is 6–26 ms of pauses in the
 * ninth second of every server's life (`--trace-gc`, 10 × 10 msg/s, three runs),
 * on every message in flight then, and they freed nothing (8.1 → 8.1 MB).
 * Without it they do not happen; the reducer still works after any real full
 * collection (a heap that grew with thousands of clients), and the give-back
 * after a mass disconnect (memory-give-back.ts) collects by itself.
 */
export const SERVER_V8_FLAGS = ['--no-memory-reducer-for-small-heaps'] as const;

for (const flag of SERVER_V8_FLAGS) setFlagsFromString(flag);
