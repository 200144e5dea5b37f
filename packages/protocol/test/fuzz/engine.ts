/**
 * The fuzz loop: make input i of a target from (seed, target, i), run the
 * target's checks on it, count what broke, and measure the slowest input and
 * the heap before and after the run.
 *
 * Reproduce a failure with the seed, target and index it prints:
 *   PARLEY_FUZZ_SEED=<seed> PARLEY_FUZZ_TARGETS=<target> PARLEY_FUZZ_FROM=<index> PARLEY_FUZZ_RUNS=1 \
 *     npx vitest run test/fuzz/fuzz.test.ts        (in packages/protocol)
 * (a target with a session, such as line-decoder-stream, needs FROM=0 and RUNS=index+1).
 */
import { isErrorCode, ParleyProtocolError } from '../../src/index.js';
import { inputSeed, Rng } from './rng.js';

/** A property that did not hold; the message says which. */
export class FuzzViolation extends Error {
  override readonly name = 'FuzzViolation';
}

export function violation(message: string): never {
  throw new FuzzViolation(message);
}

/**
 * A property that is known not to hold on today's code, with a regression
 * test marked \`.fails\` in regressions.test.ts. It is counted and reported,
 * not failed, so the rest of the run still guards everything else; when the
 * code is fixed the regression test starts failing, and the property should
 * become a hard check again.
 */
const knownFindings = new Map<string, { count: number; example: string }>();

export function knownFinding(id: string, example: string): void {
  const seen = knownFindings.get(id);
  if (seen) seen.count += 1;
  else knownFindings.set(id, { count: 1, example });
}

export interface FuzzTarget<I, S> {
  readonly name: string;
  /** What the target exercises, for the report. */
  readonly about: string;
  /** State kept for the whole run (e.g. one long-lived decoder). */
  session(): S;
  generate(rng: Rng, state: S): I;
  /** Runs the code under test on `input`; throws when a property fails. */
  check(input: I, state: S): void;
  /** The input as printable text (hex for bytes). */
  describe(input: I): string;
  /** Checked after the run, with the session state (and its memory) still alive. */
  finish?(state: S): string | undefined;
}

/** Erases a target's type parameters so different targets share a list. */
export type AnyTarget = FuzzTarget<unknown, unknown>;
export function defineTarget<I, S>(target: FuzzTarget<I, S>): AnyTarget {
  return target as unknown as AnyTarget;
}

export interface Failure {
  readonly index: number;
  readonly message: string;
  readonly input: string;
}

export interface FuzzResult {
  readonly target: string;
  readonly seed: number;
  readonly from: number;
  readonly inputs: number;
  readonly crashes: number;
  /** The first few failures, with what reproduces them. */
  readonly failures: readonly Failure[];
  readonly maxMs: number;
  readonly maxMsIndex: number;
  /**
   * The slowest input run again alone (best of 3, on a fresh session): near
   * maxMs means the input itself is slow; far below it, the maximum was a GC
   * pause or another process on the machine.
   */
  readonly maxMsRerun: number;
  /** Inputs that took longer than 10 ms. */
  readonly over10ms: number;
  readonly totalMs: number;
  /** heapUsed + arrayBuffers after a GC (when --expose-gc is on), before and after the run. */
  readonly heapBefore: number;
  readonly heapAfter: number;
  readonly gc: boolean;
  readonly note: string | undefined;
  /** Known findings (see knownFinding): how many inputs showed each, and the first. */
  readonly findings: Readonly<Record<string, { readonly count: number; readonly example: string }>>;
}

/**
 * Asserts that `err` is the typed protocol error with a documented code for
 * which `allowed` says yes; anything else (a TypeError, a RangeError, an
 * undocumented code) is a crash.
 */
export function expectProtocolError(err: unknown, allowed: (code: string) => boolean): void {
  if (!(err instanceof ParleyProtocolError)) {
    const what = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
    violation(`threw something other than ParleyProtocolError: ${what}`);
  }
  if (!isErrorCode(err.wireCode)) violation(`undocumented wire code ${err.wireCode}`);
  if (err.code !== `PARLEY_ERR_${err.wireCode}`) violation(`code ${err.code} does not match wire code ${err.wireCode}`);
  if (!allowed(err.wireCode)) violation(`unexpected code ${err.wireCode} (${err.message})`);
  if (typeof err.message !== 'string' || err.message.length === 0) violation(`empty message for ${err.wireCode}`);
}

type Gc = () => void;
const gc: Gc | undefined = (globalThis as { gc?: Gc }).gc;

function retained(): number {
  if (gc) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

export interface RunOptions {
  readonly seed: number;
  readonly runs: number;
  /** First input index (to reproduce one input without the ones before it). */
  readonly from?: number;
  /** Failures kept with their input (all are counted). */
  readonly keepFailures?: number;
}

export function runTarget(target: AnyTarget, options: RunOptions): FuzzResult {
  const from = options.from ?? 0;
  const keep = options.keepFailures ?? 3;
  const failures: Failure[] = [];
  let crashes = 0;
  let maxMs = 0;
  let maxMsIndex = -1;
  let over10ms = 0;
  knownFindings.clear();
  const heapBefore = retained();
  let state: unknown = target.session();
  const started = performance.now();
  for (let i = from; i < from + options.runs; i++) {
    const rng = new Rng(inputSeed(options.seed, target.name, i));
    const t0 = performance.now();
    let input: unknown;
    try {
      input = target.generate(rng, state);
      target.check(input, state);
    } catch (err) {
      crashes += 1;
      if (failures.length < keep) {
        const message = err instanceof Error ? (err instanceof FuzzViolation ? err.message : `${err.name}: ${err.message}\n${err.stack ?? ''}`) : String(err);
        failures.push({ index: i, message, input: input === undefined ? '(generator failed)' : target.describe(input) });
      }
    }
    const ms = performance.now() - t0;
    if (ms > 10) over10ms += 1;
    if (ms > maxMs) {
      maxMs = ms;
      maxMsIndex = i;
    }
  }
  const totalMs = performance.now() - started;
  const note = target.finish?.(state);
  const heapAfter = retained();
  state = undefined;
  const maxMsRerun = maxMsIndex === -1 ? 0 : rerun(target, options.seed, maxMsIndex);
  return {
    target: target.name,
    seed: options.seed,
    from,
    inputs: options.runs,
    crashes,
    failures,
    maxMs,
    maxMsIndex,
    maxMsRerun,
    over10ms,
    totalMs,
    heapBefore,
    heapAfter,
    gc: gc !== undefined,
    note,
    findings: Object.fromEntries(knownFindings),
  };
}

function rerun(target: AnyTarget, seed: number, index: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let k = 0; k < 3; k++) {
    const state = target.session();
    const input = target.generate(new Rng(inputSeed(seed, target.name, index)), state);
    const t0 = performance.now();
    try {
      target.check(input, state);
    } catch {
      // counted in the run already
    }
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/** The failures of a run as text: seed, index, input, and how to reproduce. */
export function describeFailures(result: FuzzResult): string {
  return result.failures
    .map(
      (f) =>
        `${result.target} seed=${result.seed} index=${f.index}: ${f.message}\n  input: ${f.input}\n` +
        `  reproduce: PARLEY_FUZZ_SEED=${result.seed} PARLEY_FUZZ_TARGETS=${result.target} PARLEY_FUZZ_FROM=${f.index} PARLEY_FUZZ_RUNS=1 npx vitest run test/fuzz/fuzz.test.ts`,
    )
    .join('\n');
}

/** One line per target, as `npm run fuzz` prints it. */
export function summaryLine(r: FuzzResult): string {
  const growthKiB = (r.heapAfter - r.heapBefore) / 1024;
  return (
    `${r.target.padEnd(22)} inputs ${r.inputs}  crashes ${r.crashes}  max ${r.maxMs.toFixed(2)} ms/input (#${r.maxMsIndex}, ${r.maxMsRerun.toFixed(3)} ms alone)  ${r.over10ms} over 10 ms` +
    `  mean ${((r.totalMs * 1000) / Math.max(1, r.inputs)).toFixed(1)} µs  heap ${growthKiB >= 0 ? '+' : ''}${growthKiB.toFixed(0)} KiB${r.gc ? '' : ' (no gc)'}` +
    (r.note ? `  ${r.note}` : '') +
    Object.entries(r.findings)
      .map(([id, f]) => `  known finding ${id} ×${f.count}`)
      .join('')
  );
}
