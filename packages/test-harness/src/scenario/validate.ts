import type { z } from 'zod';
import {
  ACTIONS,
  actionOptions,
  clientNameSchema,
  clientSpecSchema,
  DEFAULT_EXPECT_TIMEOUT_MS,
  descriptionSchema,
  nameSchema,
  needsSchema,
  serverSchema,
  STEP_SCHEMAS,
  timeoutSchema,
  TOP_KEYS,
  type StepAction,
  type StepSpec,
} from './schema.js';
import type { ClientGroup, Scenario, Step } from './types.js';

export { DEFAULT_EXPECT_TIMEOUT_MS, MAX_GROUP_SIZE, MAX_NODES } from './schema.js';

/** Flags the harness sets itself on every node of a cluster. */
const CLUSTER_OWNED_FLAGS = ['--cluster', '--node-id'];
const PLACEHOLDER = /\{([^{}\s]+)\}/gu;
/** Steps after which everything the server had sent a client has arrived: a negative check may follow them. */
const SYNCING: ReadonlySet<StepAction> = new Set(['sync', 'expect', 'expect-closed']);

/** A scenario file that cannot be run, with every problem found in it. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source}: ${problems.length} problem(s) in the scenario:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `where` followed by a zod path: `server.files.a`, `clients[2]`. */
function at(where: string, path: readonly PropertyKey[]): string {
  let out = where;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** Every problem found, as "where: what", in the order the file is read. */
class Problems {
  readonly list: string[] = [];

  add(where: string, what: string): void {
    this.list.push(`${where}: ${what}`);
  }

  /** Reports one zod issue under `where`; an unknown-keys issue becomes one problem per key. */
  issue(where: string, iss: z.core.$ZodIssue): void {
    if (iss.code === 'unrecognized_keys') for (const k of iss.keys) this.add(at(where, [...iss.path, k]), iss.message);
    else this.add(at(where, iss.path), iss.message);
  }

  /** Runs `schema` on `value`: its output, or undefined with every issue reported under `where`. */
  take<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> | undefined {
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    for (const iss of r.error.issues) this.issue(where, iss);
    return undefined;
  }
}

/** Checks a parsed scenario file and returns it typed, or throws ScenarioError listing every problem. */
export function validateScenario(raw: unknown, source: string): Scenario {
  if (!isObject(raw)) throw new ScenarioError(source, ['the file must hold one object with name, clients and steps']);
  const problems = new Problems();
  for (const k of Object.keys(raw)) {
    if (!(TOP_KEYS as readonly string[]).includes(k)) problems.add(k, `unknown key (expected one of ${TOP_KEYS.join(', ')})`);
  }

  const name = problems.take(nameSchema, raw.name, 'name') ?? '?';
  const description = problems.take(descriptionSchema, raw.description, 'description');
  const timeoutMs = problems.take(timeoutSchema, raw.timeout, 'timeout') ?? DEFAULT_EXPECT_TIMEOUT_MS;
  const server = problems.take(serverSchema, raw.server, 'server') ?? { args: [], files: new Map(), nodes: 1 };
  const needs = new Set(problems.take(needsSchema, raw.needs, 'needs') ?? []);
  const { args, files, nodes } = server;
  if (nodes > 1) {
    for (const flag of CLUSTER_OWNED_FLAGS) {
      if (args.some((a) => a === flag || a.startsWith(`${flag}=`))) {
        problems.add('server.args', `${flag} is set by the harness on every node of a cluster (server.nodes: ${nodes}); leave it out`);
      }
    }
  }
  if (args.length > 0 || files.size > 0 || nodes > 1) needs.add('own-server');

  const clients = readClients(raw.clients, nodes, problems);

  const steps: Step[] = [];
  if (!Array.isArray(raw.steps) || raw.steps.length === 0) problems.add('steps', 'a scenario needs a list of steps');
  else {
    raw.steps.forEach((rawStep, i) => {
      const spec = readStep(rawStep, i + 1, problems);
      if (!spec) return;
      const index = i + 1;
      const step = ('timeoutMs' in spec ? { ...spec, index, timeoutMs: spec.timeoutMs ?? timeoutMs } : { ...spec, index }) as Step;
      checkStep(step, { clients, nodes, before: steps, problems });
      steps.push(step);
    });
  }
  if (steps.some((s) => s.action === 'server-signal' || s.action === 'expect-server-exit')) needs.add('own-server');
  if (steps.some((s) => s.action === 'download')) {
    needs.add('downloads');
    needs.add('own-server');
  }

  if (problems.list.length > 0) throw new ScenarioError(source, problems.list);
  return { name, description, source, server: { args, files, nodes }, needs, timeoutMs, clients, steps };
}

/** `clients:` as a list of names or a map of name → spec; groups expand to numbered nicknames. */
function readClients(raw: unknown, nodes: number, problems: Problems): Map<string, ClientGroup> {
  const clients = new Map<string, ClientGroup>();
  const nicks = new Set<string>();
  const add = (cname: string, rawSpec: unknown): void => {
    const where = `clients.${cname}`;
    if (problems.take(clientNameSchema, cname, where) === undefined) return;
    // A client with a bad option is still declared, so steps naming it report nothing more.
    const spec = problems.take(clientSpecSchema, rawSpec, where) ?? { pong: true, node: 0 };
    let node = spec.node;
    if (node >= nodes) {
      const range = nodes > 1 ? `must be a node index from 0 to ${nodes - 1}` : 'must be 0 (set server.nodes to 2 or more for a cluster)';
      problems.add(`${where}.node`, range);
      node = 0;
    }
    const nick = spec.nick ?? cname;
    const members = spec.count === undefined ? [nick] : Array.from({ length: spec.count }, (_, i) => `${nick}${i + 1}`);
    for (const m of members) {
      if (nicks.has(m.toLowerCase())) problems.add(where, `nickname ${m} is used by two clients`);
      nicks.add(m.toLowerCase());
    }
    clients.set(cname, { name: cname, nicks: members, single: spec.count === undefined, autoPong: spec.pong, node });
  };
  if (Array.isArray(raw)) {
    for (const [i, c] of raw.entries()) {
      if (typeof c === 'string') add(c, undefined);
      else problems.add(`clients[${i}]`, 'must be a client name');
    }
  } else if (isObject(raw)) {
    for (const [cname, spec] of Object.entries(raw)) add(cname, spec);
  } else {
    problems.add('clients', 'list the clients: [alice, bob] or { alice: {}, crowd: { count: 200 } }');
  }
  return clients;
}

/** One step: an object with exactly one action key, read by that action's schema. */
function readStep(raw: unknown, index: number, problems: Problems): StepSpec | undefined {
  const where = `steps[${index}]`;
  if (!isObject(raw)) {
    problems.add(where, 'a step is an object such as { join: alice } or { send: alice, line: "broadcast,hi" }');
    return undefined;
  }
  const actions = Object.keys(raw).filter((k): k is StepAction => (ACTIONS as string[]).includes(k));
  if (actions.length !== 1) {
    problems.add(
      where,
      actions.length === 0 ? `no action; a step has one of: ${ACTIONS.join(', ')}` : `more than one action (${actions.join(', ')}); split it into steps`,
    );
    return undefined;
  }
  const action = actions[0] as StepAction;
  const r = STEP_SCHEMAS[action].safeParse(raw);
  if (r.success) return r.data;
  const here = `${where} (${action})`;
  for (const iss of r.error.issues) {
    if (iss.code === 'unrecognized_keys' && iss.path.length === 0) {
      const allowed = actionOptions(action);
      const takes = allowed.length ? `${action} takes ${allowed.join(', ')}` : `${action} takes no options`;
      for (const k of iss.keys) problems.add(here, `unknown option "${k}" (${takes})`);
    } else {
      // The action's own value (the clients, the signal, the node) is reported on the step itself.
      problems.issue(here, { ...iss, path: iss.path[0] === action ? iss.path.slice(1) : iss.path });
    }
  }
  return undefined;
}

interface StepContext {
  readonly clients: ReadonlyMap<string, ClientGroup>;
  /** server.nodes: how many nodes the scenario starts. */
  readonly nodes: number;
  /** The steps read so far. */
  readonly before: readonly Step[];
  readonly problems: Problems;
}

/** The rules that look beyond the step itself: declared clients, placeholders, node indexes, negative checks. */
function checkStep(step: Step, ctx: StepContext): void {
  const here = `steps[${step.index}] (${step.action})`;
  const { problems, clients } = ctx;
  const placeholders = (text: string, field: string): void => {
    for (const m of text.matchAll(PLACEHOLDER)) {
      const ref = m[1] as string;
      if (ref === 'self') continue;
      const g = clients.get(ref);
      if (!g) problems.add(`${here}.${field}`, `{${ref}} names no client (use {self} or a client's name)`);
      else if (!g.single) problems.add(`${here}.${field}`, `{${ref}} is a group; only a single client's nickname can be put in text`);
    }
  };
  if ('clients' in step) {
    for (const c of step.clients) {
      // A client by its name, or one member of a group by its nickname (user7 of crowd).
      if (clients.has(c) || [...clients.values()].some((g) => !g.single && g.nicks.includes(c))) continue;
      const known = [...clients.keys()].join(', ');
      problems.add(here, `unknown client ${JSON.stringify(c)} (declared: ${known || 'none'}; a group member is named by its nickname)`);
    }
  }
  switch (step.action) {
    case 'send':
      if (step.payload.kind === 'lines') for (const l of step.payload.lines) placeholders(l, 'line');
      break;
    case 'expect':
    case 'expect-absent':
      if (step.match.kind === 'line') placeholders(step.match.text, 'line');
      if (step.match.kind === 'like') placeholders(step.match.pattern, 'like');
      if (step.action === 'expect-absent') checkSynced(step.clients, here, ctx);
      break;
    case 'kill-node':
      if (ctx.nodes < 2) problems.add(here, 'kill-node needs a cluster (server.nodes: 2 or more)');
      else if (step.node >= ctx.nodes) problems.add(here, `give the index of the node to SIGKILL, from 0 to ${ctx.nodes - 1}`);
      break;
    default:
      break;
  }
}

/**
 * A negative check can only fail when the lines it looks for have had time to
 * arrive: the steps right before it must sync (or expect a later line on) every
 * client it checks. Other negative checks in between are fine.
 */
function checkSynced(checked: readonly string[], here: string, ctx: StepContext): void {
  const synced = new Set<string>();
  for (let i = ctx.before.length - 1; i >= 0; i--) {
    const s = ctx.before[i] as Step;
    if (s.action === 'expect-absent') continue;
    if (!SYNCING.has(s.action) || !('clients' in s)) break;
    for (const c of s.clients) {
      synced.add(c);
      for (const n of ctx.clients.get(c)?.nicks ?? []) synced.add(n);
    }
  }
  const covered = (c: string): boolean => {
    const group = ctx.clients.get(c);
    return synced.has(c) || (group?.nicks.every((n) => synced.has(n)) ?? false);
  };
  const missing = checked.filter((c) => !covered(c));
  if (missing.length > 0) {
    const why = 'a line still on its way would pass this check';
    ctx.problems.add(here, `put a sync (or an expect of a later line) for ${missing.join(', ')} right before it: ${why}`);
  }
}
