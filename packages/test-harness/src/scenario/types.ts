/**
 * The shape of a scenario after it has been read and checked. The parts a
 * person writes are inferred from the zod schema in `schema.ts` (the file
 * format is described in scenarios/README.md); `Scenario` and `ClientGroup`
 * are what `validate.ts` assembles from them.
 */
import type { z } from 'zod';
import type { fileSpecSchema, Need, relaySchema, StepSpec } from './schema.js';

export type { StepAction } from './schema.js';

/** What a step or expectation looks for in a line: exact, with `*` wildcards, or a subset of an event's fields. */
export type LineMatch = Extract<StepSpec, { action: 'expect' }>['match'];

/** Bytes a client writes: text lines, raw hex, or a generated long line. */
export type Payload = Extract<StepSpec, { action: 'send' }>['payload'];

/** Loss, reorder and duplicate probabilities (0–1, each direction) and the relay's random seed. */
export type ImpairmentSpec = z.output<typeof relaySchema>;

/** A file the spawned server offers: literal text, deterministic random bytes, or a folder (downloading it is NOT_A_FILE). */
export type FileSpec = z.output<typeof fileSpecSchema>;

/** A step with its number in the file and the scenario's timeout filled in where it waits. */
export type Step = StepSpec extends infer S
  ? S extends { timeoutMs: number | undefined }
    ? Omit<S, 'timeoutMs'> & { readonly index: number; readonly timeoutMs: number }
    : S & { readonly index: number }
  : never;

export interface ClientGroup {
  readonly name: string;
  /** The nicknames of its members (one for a single client). */
  readonly nicks: readonly string[];
  readonly single: boolean;
  /** Answers the server's pings (default true). */
  readonly autoPong: boolean;
  /** Which node of a cluster its members connect to (default 0). */
  readonly node: number;
}

export interface Scenario {
  readonly name: string;
  readonly description: string | undefined;
  /** Where it was read from (for messages). */
  readonly source: string;
  readonly server: {
    /** Extra parley-server flags. A scenario with flags needs its own server. */
    readonly args: readonly string[];
    readonly files: ReadonlyMap<string, FileSpec>;
    /**
     * How many parley-server processes to start (default 1). Two or more make
     * a cluster: the runner starts a throw-away redis-server and every node
     * with --cluster pointing at it.
     */
    readonly nodes: number;
  };
  /** What the scenario needs that `--target` or this build may not give. */
  readonly needs: ReadonlySet<Need>;
  readonly timeoutMs: number;
  readonly clients: ReadonlyMap<string, ClientGroup>;
  readonly steps: readonly Step[];
}
