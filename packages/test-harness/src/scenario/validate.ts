import type { ClientGroup, FileSpec, ImpairmentSpec, LineMatch, Payload, Scenario, Step, StepAction } from './types.js';

/** Default time an expectation waits, in ms (a scenario's `timeout` overrides it). */
export const DEFAULT_EXPECT_TIMEOUT_MS = 5000;
/** Most members a client group may have. */
export const MAX_GROUP_SIZE = 5000;
/** Most parley-server nodes a cluster scenario may start. */
export const MAX_NODES = 8;
/** Flags the harness sets itself on every node of a cluster. */
const CLUSTER_OWNED_FLAGS = ['--cluster', '--node-id'];

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

/** The options each action takes (besides `note` and the action key itself). */
const ACTION_OPTIONS: Readonly<Record<StepAction, readonly string[]>> = {
  connect: [],
  join: [],
  send: ['line', 'lines', 'hex', 'repeat', 'times'],
  expect: ['line', 'like', 'event', 'timeout'],
  'expect-absent': ['line', 'like', 'event'],
  sync: ['timeout'],
  'expect-closed': ['timeout'],
  close: [],
  kill: [],
  'stop-reading': [],
  'server-signal': [],
  'expect-server-exit': ['timeout'],
  'kill-node': ['timeout'],
  download: ['file', 'relay', 'kill-after-bytes', 'timeout'],
};
const ACTIONS = Object.keys(ACTION_OPTIONS) as StepAction[];
const TOP_KEYS = ['name', 'description', 'timeout', 'server', 'needs', 'clients', 'steps'];
const PLACEHOLDER = /\{([^{}\s]+)\}/gu;

type Raw = Record<string, unknown>;

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks a parsed scenario file and returns it typed, or throws ScenarioError listing every problem. */
export function validateScenario(raw: unknown, source: string): Scenario {
  const problems: string[] = [];
  const problem = (where: string, what: string): void => {
    problems.push(`${where}: ${what}`);
  };
  if (!isObject(raw)) throw new ScenarioError(source, ['the file must hold one object with name, clients and steps']);

  for (const k of Object.keys(raw)) if (!TOP_KEYS.includes(k)) problem(k, `unknown key (expected one of ${TOP_KEYS.join(', ')})`);

  const name = typeof raw.name === 'string' && raw.name.trim() ? raw.name.trim() : (problem('name', 'a scenario needs a name (a sentence saying what it shows)'), '?');
  const description = raw.description === undefined ? undefined : typeof raw.description === 'string' ? raw.description.trim() : (problem('description', 'must be text'), undefined);
  const timeoutMs = raw.timeout === undefined ? DEFAULT_EXPECT_TIMEOUT_MS : positiveNumber(raw.timeout, 'timeout', problem) ?? DEFAULT_EXPECT_TIMEOUT_MS;

  // server
  const args: string[] = [];
  const files = new Map<string, FileSpec>();
  let nodes = 1;
  if (raw.server !== undefined) {
    if (!isObject(raw.server)) problem('server', 'must be an object with args, files and/or nodes');
    else {
      for (const k of Object.keys(raw.server)) if (k !== 'args' && k !== 'files' && k !== 'nodes') problem(`server.${k}`, 'unknown key (expected args, files or nodes)');
      const n = raw.server.nodes;
      if (n !== undefined) {
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_NODES) problem('server.nodes', `must be a whole number from 1 to ${MAX_NODES} (2 or more: a cluster on Redis)`);
        else nodes = n;
      }
      const a = raw.server.args;
      if (a !== undefined) {
        if (!Array.isArray(a)) problem('server.args', 'must be a list of parley-server flags, e.g. ["--rate", "100"]');
        else a.forEach((v, i) => (typeof v === 'string' || typeof v === 'number' ? args.push(String(v)) : problem(`server.args[${i}]`, 'must be text or a number')));
      }
      const f = raw.server.files;
      if (f !== undefined) {
        if (!isObject(f)) problem('server.files', 'must map file names to text or { size, seed }');
        else {
          for (const [fname, spec] of Object.entries(f)) {
            if (fname.includes('/') || fname.includes('\\') || fname === '.' || fname === '..') problem(`server.files.${fname}`, 'must be a plain file name');
            if (typeof spec === 'string') files.set(fname, { kind: 'text', text: spec });
            else if (isObject(spec) && spec.dir === true && Object.keys(spec).length === 1) files.set(fname, { kind: 'dir' });
            else if (isObject(spec) && typeof spec.size === 'number' && Number.isInteger(spec.size) && spec.size >= 0) {
              files.set(fname, { kind: 'random', size: spec.size, seed: typeof spec.seed === 'number' ? spec.seed : 1 });
            } else problem(`server.files.${fname}`, 'must be text, { size: <bytes>, seed: <number> } or { dir: true }');
          }
        }
      }
    }
  }

  // needs
  const needs = new Set<'own-server' | 'downloads'>();
  if (raw.needs !== undefined) {
    const list = Array.isArray(raw.needs) ? raw.needs : [raw.needs];
    for (const n of list) {
      if (n === 'own-server' || n === 'downloads') needs.add(n);
      else problem('needs', `unknown need ${JSON.stringify(n)} (expected own-server or downloads)`);
    }
  }
  if (nodes > 1) {
    for (const flag of CLUSTER_OWNED_FLAGS) {
      if (args.some((a) => a === flag || a.startsWith(`${flag}=`))) problem('server.args', `${flag} is set by the harness on every node of a cluster (server.nodes: ${nodes}); leave it out`);
    }
  }
  if (args.length > 0 || files.size > 0 || nodes > 1) needs.add('own-server');

  // clients
  const clients = new Map<string, ClientGroup>();
  const nicks = new Set<string>();
  const addClient = (cname: string, spec: unknown): void => {
    let node = 0;
    const where = `clients.${cname}`;
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/u.test(cname) || cname === 'self') {
      problem(where, 'a client name is letters, digits, _ and - (and not "self")');
      return;
    }
    let nick = cname;
    let count: number | undefined;
    let autoPong = true;
    if (spec !== null && spec !== undefined) {
      if (!isObject(spec)) return problem(where, 'must be {} or { nick: <nickname>, count: <n>, pong: false, node: <index> }');
      for (const k of Object.keys(spec)) if (k !== 'nick' && k !== 'count' && k !== 'pong' && k !== 'node') problem(`${where}.${k}`, 'unknown key (expected nick, count, pong or node)');
      if (spec.node !== undefined) {
        if (typeof spec.node !== 'number' || !Number.isInteger(spec.node) || spec.node < 0 || spec.node >= nodes) {
          problem(`${where}.node`, nodes > 1 ? `must be a node index from 0 to ${nodes - 1}` : 'must be 0 (set server.nodes to 2 or more for a cluster)');
        } else node = spec.node;
      }
      if (spec.pong !== undefined) {
        if (typeof spec.pong !== 'boolean') problem(`${where}.pong`, 'must be true or false (answer the server\'s pings)');
        else autoPong = spec.pong;
      }
      if (spec.nick !== undefined) {
        if (typeof spec.nick !== 'string' || spec.nick.length === 0) problem(`${where}.nick`, 'must be text');
        else nick = spec.nick;
      }
      if (spec.count !== undefined) {
        if (typeof spec.count !== 'number' || !Number.isInteger(spec.count) || spec.count < 1 || spec.count > MAX_GROUP_SIZE) {
          problem(`${where}.count`, `must be a whole number from 1 to ${MAX_GROUP_SIZE}`);
        } else count = spec.count;
      }
    }
    const members = count === undefined ? [nick] : Array.from({ length: count }, (_, i) => `${nick}${i + 1}`);
    for (const m of members) {
      if (nicks.has(m.toLowerCase())) problem(where, `nickname ${m} is used by two clients`);
      nicks.add(m.toLowerCase());
    }
    clients.set(cname, { name: cname, nicks: members, single: count === undefined, autoPong, node });
  };
  if (Array.isArray(raw.clients)) {
    raw.clients.forEach((c, i) => (typeof c === 'string' ? addClient(c, undefined) : problem(`clients[${i}]`, 'must be a client name')));
  } else if (isObject(raw.clients)) {
    for (const [cname, spec] of Object.entries(raw.clients)) addClient(cname, spec);
  } else {
    problem('clients', 'list the clients: [alice, bob] or { alice: {}, crowd: { count: 200 } }');
  }

  // steps
  const steps: Step[] = [];
  if (!Array.isArray(raw.steps) || raw.steps.length === 0) {
    problem('steps', 'a scenario needs a list of steps');
  } else {
    raw.steps.forEach((rawStep, i) => {
      const step = checkStep(rawStep, i, { clients, timeoutMs, nodes, problem });
      if (step) steps.push(step);
    });
  }
  if (steps.some((s) => s.action === 'server-signal' || s.action === 'expect-server-exit')) needs.add('own-server');
  if (steps.some((s) => s.action === 'download')) {
    needs.add('downloads');
    needs.add('own-server');
  }

  if (problems.length > 0) throw new ScenarioError(source, problems);
  return { name, description, source, server: { args, files, nodes }, needs, timeoutMs, clients, steps };
}

interface StepContext {
  readonly clients: ReadonlyMap<string, ClientGroup>;
  readonly timeoutMs: number;
  /** server.nodes: how many nodes the scenario starts. */
  readonly nodes: number;
  readonly problem: (where: string, what: string) => void;
}

function checkStep(raw: unknown, i: number, ctx: StepContext): Step | undefined {
  const where = `steps[${i + 1}]`;
  const { problem } = ctx;
  if (!isObject(raw)) {
    problem(where, 'a step is an object such as { join: alice } or { send: alice, line: "broadcast,hi" }');
    return undefined;
  }
  const actions = Object.keys(raw).filter((k) => (ACTIONS as string[]).includes(k));
  if (actions.length !== 1) {
    problem(where, actions.length === 0 ? `no action; a step has one of: ${ACTIONS.join(', ')}` : `more than one action (${actions.join(', ')}); split it into steps`);
    return undefined;
  }
  const action = actions[0] as StepAction;
  const at = `${where} (${action})`;
  const allowed = ACTION_OPTIONS[action];
  for (const k of Object.keys(raw)) {
    if (k !== action && k !== 'note' && !allowed.includes(k)) {
      problem(at, `unknown option "${k}"${allowed.length ? ` (${action} takes ${allowed.join(', ')})` : ` (${action} takes no options)`}`);
    }
  }
  const note = typeof raw.note === 'string' ? raw.note : undefined;
  const base = { index: i + 1, note };
  const timeoutMs = raw.timeout === undefined ? ctx.timeoutMs : positiveNumber(raw.timeout, `${at}.timeout`, problem) ?? ctx.timeoutMs;
  const targets = (): string[] => clientList(raw[action], at, ctx);
  const placeholders = (text: string, field: string): void => {
    for (const m of text.matchAll(PLACEHOLDER)) {
      const ref = m[1] as string;
      if (ref === 'self') continue;
      const g = ctx.clients.get(ref);
      if (!g) problem(`${at}.${field}`, `{${ref}} names no client (use {self} or a client's name)`);
      else if (!g.single) problem(`${at}.${field}`, `{${ref}} is a group; only a single client's nickname can be put in text`);
    }
  };

  switch (action) {
    case 'connect':
    case 'join':
    case 'close':
    case 'kill':
    case 'stop-reading':
      return { ...base, action, clients: targets() };
    case 'sync':
    case 'expect-closed':
      return { ...base, action, clients: targets(), timeoutMs };
    case 'send': {
      const payload = checkPayload(raw, at, problem);
      if (payload?.kind === 'lines') payload.lines.forEach((l) => placeholders(l, 'line'));
      const times = raw.times === undefined ? 1 : positiveInteger(raw.times, `${at}.times`, problem) ?? 1;
      return payload ? { ...base, action, clients: targets(), payload, times } : undefined;
    }
    case 'expect':
    case 'expect-absent': {
      const match = checkMatch(raw, at, problem);
      if (match?.kind === 'line') placeholders(match.text, 'line');
      if (match?.kind === 'like') placeholders(match.pattern, 'like');
      if (!match) return undefined;
      return action === 'expect' ? { ...base, action, clients: targets(), match, timeoutMs } : { ...base, action, clients: targets(), match };
    }
    case 'server-signal': {
      const sig = raw[action];
      if (sig !== 'SIGTERM' && sig !== 'SIGINT') {
        problem(at, 'the signal must be SIGTERM or SIGINT');
        return undefined;
      }
      return { ...base, action, signal: sig };
    }
    case 'expect-server-exit': {
      const code = raw[action];
      if (typeof code !== 'number' || !Number.isInteger(code) || code < 0) {
        problem(at, 'give the exit code the server must end with, e.g. expect-server-exit: 0');
        return undefined;
      }
      return { ...base, action, code, timeoutMs };
    }
    case 'kill-node': {
      const node = raw[action];
      if (ctx.nodes < 2) {
        problem(at, 'kill-node needs a cluster (server.nodes: 2 or more)');
        return undefined;
      }
      if (typeof node !== 'number' || !Number.isInteger(node) || node < 0 || node >= ctx.nodes) {
        problem(at, `give the index of the node to SIGKILL, from 0 to ${ctx.nodes - 1}`);
        return undefined;
      }
      return { ...base, action, node, timeoutMs };
    }
    case 'download': {
      const file = raw.file;
      if (typeof file !== 'string' || file.length === 0) problem(`${at}.file`, 'name the file to download');
      const relay = raw.relay === undefined ? undefined : checkRelay(raw.relay, `${at}.relay`, problem);
      const killAfterBytes = raw['kill-after-bytes'] === undefined ? undefined : positiveInteger(raw['kill-after-bytes'], `${at}.kill-after-bytes`, problem);
      return { ...base, action, clients: targets(), file: String(file), relay, killAfterBytes, timeoutMs };
    }
  }
}

function clientList(value: unknown, at: string, ctx: StepContext): string[] {
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
  if (!list || list.length === 0) {
    ctx.problem(at, 'name the client(s): a name or a list of names');
    return [];
  }
  const out: string[] = [];
  for (const c of list) {
    if (typeof c === 'string' && !ctx.clients.has(c) && [...ctx.clients.values()].some((g) => !g.single && g.nicks.includes(c))) {
      out.push(c); // one member of a group, by its nickname (user7 of crowd)
    } else if (typeof c !== 'string' || !ctx.clients.has(c)) {
      const known = [...ctx.clients.keys()].join(', ');
      ctx.problem(at, `unknown client ${JSON.stringify(c)} (declared: ${known || 'none'}; a group member is named by its nickname)`);
    } else out.push(c);
  }
  return out;
}

function checkPayload(raw: Raw, at: string, problem: StepContext['problem']): Payload | undefined {
  const given = ['line', 'lines', 'hex', 'repeat'].filter((k) => raw[k] !== undefined);
  if (given.length !== 1) {
    problem(at, given.length === 0 ? 'say what to send: line, lines, hex or repeat' : `give only one of ${given.join(', ')}`);
    return undefined;
  }
  if (raw.line !== undefined) {
    if (typeof raw.line !== 'string') return void problem(`${at}.line`, 'must be text (quote it if it has a colon)');
    if (/[\r\n]/u.test(raw.line)) return void problem(`${at}.line`, 'one line only; use lines: [...] for several');
    return { kind: 'lines', lines: [raw.line] };
  }
  if (raw.lines !== undefined) {
    if (!Array.isArray(raw.lines) || !raw.lines.every((l) => typeof l === 'string' && !/[\r\n]/u.test(l))) {
      return void problem(`${at}.lines`, 'must be a list of single lines');
    }
    return { kind: 'lines', lines: raw.lines as string[] };
  }
  if (raw.hex !== undefined) {
    const hex = typeof raw.hex === 'string' ? raw.hex.replace(/\s+/gu, '') : '';
    if (!/^(?:[0-9a-fA-F]{2})+$/u.test(hex)) return void problem(`${at}.hex`, 'must be pairs of hex digits, e.g. "68 69 ff 0a"');
    return { kind: 'hex', hex };
  }
  const r = raw.repeat;
  if (!isObject(r) || typeof r.text !== 'string' || r.text.length === 0 || typeof r.times !== 'number' || !Number.isInteger(r.times) || r.times < 1) {
    return void problem(`${at}.repeat`, 'must be { prefix: "broadcast,", text: "x", times: 5000 } (one line: prefix + text × times)');
  }
  if (r.prefix !== undefined && typeof r.prefix !== 'string') return void problem(`${at}.repeat.prefix`, 'must be text');
  return { kind: 'repeat', prefix: typeof r.prefix === 'string' ? r.prefix : '', text: r.text, times: r.times };
}

function checkMatch(raw: Raw, at: string, problem: StepContext['problem']): LineMatch | undefined {
  const given = ['line', 'like', 'event'].filter((k) => raw[k] !== undefined);
  if (given.length !== 1) {
    problem(at, given.length === 0 ? 'say what to look for: line (exact), like (with * wildcards) or event ({ type, … })' : `give only one of ${given.join(', ')}`);
    return undefined;
  }
  if (raw.line !== undefined) return typeof raw.line === 'string' ? { kind: 'line', text: raw.line } : void problem(`${at}.line`, 'must be text (quote it if it has a colon)');
  if (raw.like !== undefined) return typeof raw.like === 'string' ? { kind: 'like', pattern: raw.like } : void problem(`${at}.like`, 'must be text with * wildcards');
  if (!isObject(raw.event) || typeof raw.event.type !== 'string') return void problem(`${at}.event`, 'must be an object with at least a type, e.g. { type: error, code: NICK_TAKEN }');
  return { kind: 'event', fields: raw.event };
}

function checkRelay(raw: unknown, at: string, problem: StepContext['problem']): ImpairmentSpec | undefined {
  if (!isObject(raw)) return void problem(at, 'must be { loss: 0.1, reorder: 0.05, duplicate: 0.01, seed: 1 }');
  for (const k of Object.keys(raw)) if (!['loss', 'reorder', 'duplicate', 'seed'].includes(k)) problem(`${at}.${k}`, 'unknown key (loss, reorder, duplicate, seed)');
  const p = (k: string): number => {
    const v = raw[k] ?? 0;
    if (typeof v !== 'number' || v < 0 || v >= 1) {
      problem(`${at}.${k}`, 'must be a probability from 0 up to (not including) 1');
      return 0;
    }
    return v;
  };
  return { loss: p('loss'), reorder: p('reorder'), duplicate: p('duplicate'), seed: typeof raw.seed === 'number' ? raw.seed : 1 };
}

function positiveNumber(v: unknown, where: string, problem: StepContext['problem']): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
  problem(where, 'must be a positive number of milliseconds');
  return undefined;
}

function positiveInteger(v: unknown, where: string, problem: StepContext['problem']): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  problem(where, 'must be a whole number above 0');
  return undefined;
}
