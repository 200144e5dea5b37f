/**
 * The shape of a scenario after it has been read and checked. The file format
 * (what a person writes) is described in scenarios/README.md; `validate.ts`
 * turns the raw YAML/JSON into these types or lists every mistake.
 */

/** What a step or expectation looks for in a line. */
export type LineMatch =
  /** The whole line, exactly. */
  | { readonly kind: 'line'; readonly text: string }
  /** The whole line, where `*` stands for any run of characters. */
  | { readonly kind: 'like'; readonly pattern: string }
  /** The decoded event has these fields (a subset). */
  | { readonly kind: 'event'; readonly fields: Readonly<Record<string, unknown>> };

/** Bytes a client writes: text lines, raw hex, or a generated long line. */
export type Payload =
  | { readonly kind: 'lines'; readonly lines: readonly string[] }
  | { readonly kind: 'hex'; readonly hex: string }
  | { readonly kind: 'repeat'; readonly prefix: string; readonly text: string; readonly times: number };

export interface ImpairmentSpec {
  /** Probability (0–1) that a datagram is dropped, each direction. */
  readonly loss: number;
  /** Probability (0–1) that a datagram is held back and sent after the next one. */
  readonly reorder: number;
  /** Probability (0–1) that a datagram is sent twice. */
  readonly duplicate: number;
  /** Seed for the relay's random choices, so a run can be repeated. */
  readonly seed: number;
}

export type Step = { readonly index: number; readonly note: string | undefined } & (
  | { readonly action: 'connect'; readonly clients: readonly string[] }
  | { readonly action: 'join'; readonly clients: readonly string[] }
  | { readonly action: 'send'; readonly clients: readonly string[]; readonly payload: Payload; readonly times: number }
  | { readonly action: 'expect'; readonly clients: readonly string[]; readonly match: LineMatch; readonly timeoutMs: number }
  | { readonly action: 'expect-absent'; readonly clients: readonly string[]; readonly match: LineMatch }
  | { readonly action: 'sync'; readonly clients: readonly string[]; readonly timeoutMs: number }
  | { readonly action: 'expect-closed'; readonly clients: readonly string[]; readonly timeoutMs: number }
  | { readonly action: 'close'; readonly clients: readonly string[] }
  | { readonly action: 'kill'; readonly clients: readonly string[] }
  | { readonly action: 'stop-reading'; readonly clients: readonly string[] }
  | { readonly action: 'server-signal'; readonly signal: 'SIGTERM' | 'SIGINT' }
  | { readonly action: 'expect-server-exit'; readonly code: number; readonly timeoutMs: number }
  /** SIGKILLs one node of a cluster (by its index) and waits until it is gone. */
  | { readonly action: 'kill-node'; readonly node: number; readonly timeoutMs: number }
  | {
      readonly action: 'download';
      readonly clients: readonly string[];
      readonly file: string;
      readonly relay: ImpairmentSpec | undefined;
      /** Kill the downloading process with SIGKILL once this many bytes arrived. */
      readonly killAfterBytes: number | undefined;
      readonly timeoutMs: number;
    }
);

export type StepAction = Step['action'];

/** A file the spawned server offers: literal text or deterministic random bytes. */
export type FileSpec =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'random'; readonly size: number; readonly seed: number }
  /** A folder (not offered; downloading it is NOT_A_FILE). */
  | { readonly kind: 'dir' };

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
  readonly needs: ReadonlySet<'own-server' | 'downloads'>;
  readonly timeoutMs: number;
  readonly clients: ReadonlyMap<string, ClientGroup>;
  readonly steps: readonly Step[];
}
