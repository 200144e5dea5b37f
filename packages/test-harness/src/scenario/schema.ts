/**
 * The scenario file format as one zod schema: the shape of every part a person
 * writes, the message for each mistake, and the typed value each part becomes.
 * `types.ts` infers its types from here and `validate.ts` runs these schemas,
 * adds the rules that look across parts (a step names a declared client, a
 * node index is below server.nodes) and assembles the Scenario.
 */
import { z } from 'zod';

/** Default time an expectation waits, in ms (a scenario's `timeout` overrides it). */
export const DEFAULT_EXPECT_TIMEOUT_MS = 5000;
/** Most members a client group may have. */
export const MAX_GROUP_SIZE = 5000;
/** Most parley-server nodes a cluster scenario may start. */
export const MAX_NODES = 8;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** "a, b or c" */
export function orList(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/**
 * An object that refuses unknown keys. `what` is the message when the value is
 * not an object at all; an unknown key is reported at its own path with the
 * keys this object takes.
 */
function strict<S extends z.core.$ZodLooseShape>(shape: S, what: string) {
  const keys = Object.keys(shape);
  return z.strictObject(shape, { error: (iss) => (iss.code === 'unrecognized_keys' ? `unknown key (expected ${orList(keys)})` : what) });
}

const MS = 'must be a positive number of milliseconds';
const WHOLE = 'must be a whole number above 0';
const PROBABILITY = 'must be a probability from 0 up to (not including) 1';

/** A whole number from `min` (up to `max`), with one message for every way it can be wrong. */
function whole(message: string, min: number, max?: number) {
  const n = z.number({ error: message }).int({ error: message }).min(min, { error: message });
  return max === undefined ? n : n.max(max, { error: message });
}

export const milliseconds = z.number({ error: MS }).gt(0, { error: MS });
const wholeAboveZero = whole(WHOLE, 1);
const probability = z.number({ error: PROBABILITY }).min(0, { error: PROBABILITY }).lt(1, { error: PROBABILITY }).default(0);

// ---- top level -------------------------------------------------------------

export const nameSchema = z
  .string({ error: 'a scenario needs a name (a sentence saying what it shows)' })
  .trim()
  .min(1, { error: 'a scenario needs a name (a sentence saying what it shows)' });
export const descriptionSchema = z.string({ error: 'must be text' }).trim().optional();
export const timeoutSchema = milliseconds.default(DEFAULT_EXPECT_TIMEOUT_MS);

const NEED = ['own-server', 'downloads'] as const;
const need = z.enum(NEED, { error: (iss) => `unknown need ${JSON.stringify(iss.input)} (expected ${orList(NEED)})` });
/** One need or a list of them. */
export const needsSchema = z.preprocess(
  (v) => (v === undefined || Array.isArray(v) ? v : [v]),
  z.array(need, { error: `must be ${orList(NEED)}, or a list of them` }).default([]),
);
export type Need = z.output<typeof need>;

// ---- server ----------------------------------------------------------------

const FILE_SPEC = 'must be text, { size: <bytes>, seed: <number> } or { dir: true }';
export const fileSpecSchema = z.union(
  [
    z.string().transform((text) => ({ kind: 'text' as const, text })),
    z.strictObject({ dir: z.literal(true) }).transform(() => ({ kind: 'dir' as const })),
    z.strictObject({ size: z.number().int().min(0), seed: z.number().default(1) }).transform((f) => ({ kind: 'random' as const, ...f })),
  ],
  { error: FILE_SPEC },
);

const PLAIN = 'must be a plain file name';
const plainFileName = z.string().refine((n) => !n.includes('/') && !n.includes('\\') && n !== '.' && n !== '..');

export const serverSchema = strict(
  {
    args: z
      .array(z.union([z.string(), z.number()], { error: 'must be text or a number' }).transform(String), {
        error: 'must be a list of parley-server flags, e.g. ["--rate", "100"]',
      })
      .default([]),
    files: z
      .record(plainFileName, fileSpecSchema, { error: (iss) => (iss.code === 'invalid_key' ? PLAIN : 'must map file names to text or { size, seed }') })
      .transform((files) => new Map(Object.entries(files)))
      .default(new Map()),
    nodes: whole(`must be a whole number from 1 to ${MAX_NODES} (2 or more: a cluster on Redis)`, 1, MAX_NODES).default(1),
  },
  'must be an object with args, files and/or nodes',
).default({ args: [], files: new Map(), nodes: 1 });

// ---- clients ---------------------------------------------------------------

export const clientNameSchema = z
  .string({ error: 'must be a client name' })
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/u, { error: 'a client name is letters, digits, _ and - (and not "self")' })
  .refine((n) => n !== 'self', { error: 'a client name is letters, digits, _ and - (and not "self")' });

const COUNT = `must be a whole number from 1 to ${MAX_GROUP_SIZE}`;
/** One entry of `clients:` in its object form; `{}` or nothing means defaults. */
export const clientSpecSchema = strict(
  {
    nick: z.string({ error: 'must be text' }).min(1, { error: 'must be text' }).optional(),
    count: whole(COUNT, 1, MAX_GROUP_SIZE).optional(),
    pong: z.boolean({ error: "must be true or false (answer the server's pings)" }).default(true),
    // Below server.nodes: checked in validate.ts, which knows it.
    node: whole('must be a node index (a whole number from 0)', 0).default(0),
  },
  'must be {} or { nick: <nickname>, count: <n>, pong: false, node: <index> }',
)
  .nullish()
  .transform((c) => c ?? { pong: true, node: 0 });
export type ClientSpec = z.output<typeof clientSpecSchema>;

// ---- steps -----------------------------------------------------------------

const TARGETS = 'name the client(s): a name or a list of names';
/** The client(s) a step is for: a name or a list of names. */
const targets = z
  .union(
    [
      z
        .string()
        .min(1, { error: TARGETS })
        .transform((c) => [c]),
      z.array(z.string()).min(1, { error: TARGETS }),
    ],
    { error: TARGETS },
  )
  .transform((c): readonly string[] => c);

const LINE = 'must be text (quote it if it has a colon)';
const singleLine = z.string({ error: LINE }).refine((l) => !/[\r\n]/u.test(l), { error: 'one line only; use lines: [...] for several' });
const HEX = 'must be pairs of hex digits, e.g. "68 69 ff 0a"';
const REPEAT = 'must be { prefix: "broadcast,", text: "x", times: 5000 } (one line: prefix + text × times)';

const payloadFields = {
  line: singleLine.optional(),
  lines: z
    .array(
      z.string({ error: 'must be a single line' }).refine((l) => !/[\r\n]/u.test(l), { error: 'must be a single line' }),
      {
        error: 'must be a list of single lines',
      },
    )
    .optional(),
  hex: z
    .string({ error: HEX })
    .transform((h) => h.replace(/\s+/gu, ''))
    .pipe(z.string().regex(/^(?:[0-9a-fA-F]{2})+$/u, { error: HEX }))
    .optional(),
  repeat: strict(
    { prefix: z.string({ error: 'must be text' }).default(''), text: z.string({ error: REPEAT }).min(1, { error: REPEAT }), times: wholeAboveZero },
    REPEAT,
  ).optional(),
};

const MATCH_NONE = 'say what to look for: line (exact), like (with * wildcards) or event ({ type, … })';
const matchFields = {
  line: z.string({ error: LINE }).optional(),
  like: z.string({ error: 'must be text with * wildcards' }).optional(),
  event: z
    .custom<{ readonly type: string } & Readonly<Record<string, unknown>>>((v) => isObject(v) && typeof v.type === 'string', {
      error: 'must be an object with at least a type, e.g. { type: error, code: NICK_TAKEN }',
    })
    .optional(),
};

/** Exactly one of `keys` is given: returns it, or reports `none` / "give only one of …" on the step. */
function oneOf<K extends string>(v: Partial<Record<K, unknown>>, keys: readonly K[], none: string, ctx: z.core.$RefinementCtx): K | undefined {
  const given = keys.filter((k) => v[k] !== undefined);
  if (given.length === 1) return given[0];
  ctx.addIssue({ code: 'custom', path: [], message: given.length === 0 ? none : `give only one of ${given.join(', ')}` });
  return undefined;
}

function toPayload(v: z.output<z.ZodObject<typeof payloadFields>>, ctx: z.core.$RefinementCtx) {
  switch (oneOf(v, ['line', 'lines', 'hex', 'repeat'], 'say what to send: line, lines, hex or repeat', ctx)) {
    case 'line':
      return { kind: 'lines' as const, lines: [v.line as string] as readonly string[] };
    case 'lines':
      return { kind: 'lines' as const, lines: v.lines as readonly string[] };
    case 'hex':
      return { kind: 'hex' as const, hex: v.hex as string };
    case 'repeat': {
      const r = v.repeat as NonNullable<typeof v.repeat>;
      return { kind: 'repeat' as const, prefix: r.prefix, text: r.text, times: r.times };
    }
    default:
      return z.NEVER;
  }
}

function toMatch(v: z.output<z.ZodObject<typeof matchFields>>, ctx: z.core.$RefinementCtx) {
  switch (oneOf(v, ['line', 'like', 'event'], MATCH_NONE, ctx)) {
    case 'line':
      return { kind: 'line' as const, text: v.line as string };
    case 'like':
      return { kind: 'like' as const, pattern: v.like as string };
    case 'event':
      return { kind: 'event' as const, fields: v.event as Readonly<Record<string, unknown>> };
    default:
      return z.NEVER;
  }
}

const RELAY = 'must be { loss: 0.1, reorder: 0.05, duplicate: 0.01, seed: 1 }';
export const relaySchema = strict(
  { loss: probability, reorder: probability, duplicate: probability, seed: z.number({ error: 'must be a number' }).default(1) },
  RELAY,
);

const note = z.string({ error: 'must be text' }).optional();
const timeout = milliseconds.optional();

/**
 * One schema per action. A step is an object with exactly one action key; its
 * other keys are that action's options (and `note`). `timeoutMs` undefined
 * means the scenario's `timeout`.
 */
export const STEP_SCHEMAS = {
  connect: z.strictObject({ connect: targets, note }).transform((s) => ({ action: 'connect' as const, clients: s.connect, note: s.note })),
  join: z.strictObject({ join: targets, note }).transform((s) => ({ action: 'join' as const, clients: s.join, note: s.note })),
  send: z
    .strictObject({ send: targets, note, ...payloadFields, times: wholeAboveZero.default(1) })
    .transform((s, ctx) => ({ action: 'send' as const, clients: s.send, note: s.note, payload: toPayload(s, ctx), times: s.times })),
  expect: z
    .strictObject({ expect: targets, note, ...matchFields, timeout })
    .transform((s, ctx) => ({ action: 'expect' as const, clients: s.expect, note: s.note, match: toMatch(s, ctx), timeoutMs: s.timeout })),
  'expect-absent': z
    .strictObject({ 'expect-absent': targets, note, ...matchFields })
    .transform((s, ctx) => ({ action: 'expect-absent' as const, clients: s['expect-absent'], note: s.note, match: toMatch(s, ctx) })),
  sync: z.strictObject({ sync: targets, note, timeout }).transform((s) => ({ action: 'sync' as const, clients: s.sync, note: s.note, timeoutMs: s.timeout })),
  'expect-closed': z
    .strictObject({ 'expect-closed': targets, note, timeout })
    .transform((s) => ({ action: 'expect-closed' as const, clients: s['expect-closed'], note: s.note, timeoutMs: s.timeout })),
  close: z.strictObject({ close: targets, note }).transform((s) => ({ action: 'close' as const, clients: s.close, note: s.note })),
  kill: z.strictObject({ kill: targets, note }).transform((s) => ({ action: 'kill' as const, clients: s.kill, note: s.note })),
  'stop-reading': z
    .strictObject({ 'stop-reading': targets, note })
    .transform((s) => ({ action: 'stop-reading' as const, clients: s['stop-reading'], note: s.note })),
  'server-signal': z
    .strictObject({ 'server-signal': z.enum(['SIGTERM', 'SIGINT'], { error: 'the signal must be SIGTERM or SIGINT' }), note })
    .transform((s) => ({ action: 'server-signal' as const, signal: s['server-signal'], note: s.note })),
  'expect-server-exit': z
    .strictObject({
      'expect-server-exit': whole('give the exit code the server must end with, e.g. expect-server-exit: 0', 0),
      note,
      timeout,
    })
    .transform((s) => ({ action: 'expect-server-exit' as const, code: s['expect-server-exit'], note: s.note, timeoutMs: s.timeout })),
  /** SIGKILLs one node of a cluster (by its index) and waits until it is gone. */
  'kill-node': z
    .strictObject({
      // Below server.nodes: checked in validate.ts, which knows it.
      'kill-node': whole('give the index of the node to SIGKILL', 0),
      note,
      timeout,
    })
    .transform((s) => ({ action: 'kill-node' as const, node: s['kill-node'], note: s.note, timeoutMs: s.timeout })),
  download: z
    .strictObject({
      download: targets,
      note,
      file: z.string({ error: 'name the file to download' }).min(1, { error: 'name the file to download' }),
      relay: relaySchema.optional(),
      /** Kill the downloading process with SIGKILL once this many bytes arrived. */
      'kill-after-bytes': wholeAboveZero.optional(),
      timeout,
    })
    .transform((s) => ({
      action: 'download' as const,
      clients: s.download,
      note: s.note,
      file: s.file,
      relay: s.relay,
      killAfterBytes: s['kill-after-bytes'],
      timeoutMs: s.timeout,
    })),
};

export type StepAction = keyof typeof STEP_SCHEMAS;
export const ACTIONS = Object.keys(STEP_SCHEMAS) as StepAction[];

/** The options `action` takes besides its own key and `note`, from its schema. */
export function actionOptions(action: StepAction): string[] {
  return Object.keys(STEP_SCHEMAS[action].in.shape).filter((k) => k !== action && k !== 'note');
}

/** A step as the schema reads it, before the scenario's defaults are filled in. */
export type StepSpec = { [A in StepAction]: z.output<(typeof STEP_SCHEMAS)[A]> }[StepAction];

/** The keys a scenario file may have at its top, in the order they are checked. */
export const TOP_KEYS = ['name', 'description', 'timeout', 'server', 'needs', 'clients', 'steps'] as const;
