import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededBytes, startRedisServer, type RedisProcess } from '@parley/test-support';
import { ExpectationError, LineClient } from '../line-client.js';
import { ServerProcess, ServerStartError } from '../server-process.js';
import { runDownload } from './download.js';
import { describeMatch, fill, matcher } from './match.js';
import type { FileSpec, Payload, Scenario, Step } from './types.js';

export type Status = 'pass' | 'fail' | 'skip';

export interface StepResult {
  readonly index: number;
  readonly title: string;
  readonly status: Status;
  readonly ms: number;
  readonly error?: string;
  /** Per client: the lines it had received around the failure. */
  readonly received?: ReadonlyArray<{ readonly nick: string; readonly lines: readonly string[] }>;
  /** Facts a step wants in the report (e.g. what a relay dropped). */
  readonly details?: readonly string[];
}

export interface ScenarioResult {
  readonly name: string;
  readonly source: string;
  readonly status: Status;
  readonly reason?: string;
  readonly steps: readonly StepResult[];
  readonly ms: number;
  /** The spawned server's output, kept when the scenario failed. */
  readonly serverOutput?: string;
}

export interface RunOptions {
  /** Run against a server that is already up instead of spawning one. */
  readonly target?: { readonly host: string; readonly port: number };
  /** parley-server bin.js (spawn mode). */
  readonly serverBin?: string;
  /** Downloads: 'auto' tries UDP and falls back to --udp-port -1 when this server build has none. */
  readonly udp?: 'auto' | 'on' | 'off';
  /** Called as each step finishes. */
  readonly onStep?: (scenario: Scenario, step: StepResult) => void;
}

/** Longest a client may take to connect and see the server's prompt. */
const CONNECT_TIMEOUT_MS = 5000;
/** Lease and heartbeat (seconds) a cluster's nodes get unless the scenario's args set them: a dead node's users leave within 1.25 s. */
const CLUSTER_LEASE_S = '1';
const CLUSTER_HEARTBEAT_S = '0.25';
/** How many clients connect or join at the same moment. */
const CONNECT_CONCURRENCY = 100;

/** Remembers, per harness run, whether the server build could start UDP downloads. */
const udpSupport = new Map<string, boolean>();

class StepFailure extends Error {
  constructor(
    message: string,
    readonly received: Array<{ nick: string; lines: readonly string[] }> = [],
  ) {
    super(message);
  }
}

/** Runs one scenario to the end (or its first failing step) and cleans up after it. */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<ScenarioResult> {
  const started = performance.now();
  const base = { name: scenario.name, source: scenario.source };
  if (options.target && scenario.needs.has('own-server')) {
    return { ...base, status: 'skip', reason: 'needs its own server (flags, files, signals or a cluster); not run against --target', steps: [], ms: 0 };
  }

  let servers: ServerProcess[] = [];
  let redis: RedisProcess | undefined;
  let filesDir: string | undefined;
  let host = options.target?.host ?? '127.0.0.1';
  let ports = [options.target?.port ?? 0];
  let downloads = false;
  const stopAll = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    await redis?.stop().catch(() => undefined);
  };
  if (!options.target) {
    filesDir = await mkdtemp(join(tmpdir(), 'parley-harness-'));
    try {
      await writeFiles(filesDir, scenario.server.files);
      if (scenario.server.nodes > 1) {
        const binary = process.env.PARLEY_REDIS_SERVER;
        redis = await startRedisServer(binary !== undefined ? { binary } : {});
      }
      const started = await startServers(scenario, filesDir, options, redis, servers);
      servers = started.servers;
      downloads = started.downloads;
      host = servers[0]?.host ?? host;
      ports = servers.map((s) => s.port);
    } catch (err) {
      await stopAll();
      await rm(filesDir, { recursive: true, force: true });
      const output = err instanceof ServerStartError ? err.output : undefined;
      return { ...base, status: 'fail', reason: (err as Error).message, steps: [], ms: performance.now() - started, serverOutput: output };
    }
  }
  const server = servers[0];
  if (scenario.needs.has('downloads') && !downloads) {
    await stopAll();
    if (filesDir) await rm(filesDir, { recursive: true, force: true });
    return { ...base, status: 'skip', reason: 'needs UDP downloads, which this server build does not offer yet', steps: [], ms: 0 };
  }

  const world = new World(scenario, host, ports, servers, filesDir);
  const results: StepResult[] = [];
  let failed = false;
  try {
    for (const step of scenario.steps) {
      const title = stepTitle(step, scenario);
      if (failed) {
        const r: StepResult = { index: step.index, title, status: 'skip', ms: 0 };
        results.push(r);
        options.onStep?.(scenario, r);
        continue;
      }
      const t0 = performance.now();
      let r: StepResult;
      try {
        const details = await world.run(step);
        r = { index: step.index, title, status: 'pass', ms: performance.now() - t0, ...(details?.length ? { details } : {}) };
      } catch (err) {
        failed = true;
        const received = err instanceof StepFailure ? err.received : [];
        r = { index: step.index, title, status: 'fail', ms: performance.now() - t0, error: (err as Error).message, received };
      }
      results.push(r);
      options.onStep?.(scenario, r);
    }
  } finally {
    await world.dispose();
    const exits = await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    await redis?.stop().catch(() => undefined);
    const expectsExit = scenario.steps.some((s) => s.action === 'expect-server-exit');
    exits.forEach((exit, i) => {
      if (failed || !exit || exit.code === 0 || world.killed.has(i) || (i === 0 && expectsExit)) return;
      failed = true;
      const title = servers.length > 1 ? `node ${i} stops cleanly on SIGTERM` : 'server stops cleanly on SIGTERM';
      results.push({ index: scenario.steps.length + 1, title, status: 'fail', ms: 0, error: `exit code ${exit.code}, signal ${exit.signal}` });
    });
    if (filesDir) await rm(filesDir, { recursive: true, force: true });
  }
  return {
    ...base,
    status: failed ? 'fail' : 'pass',
    steps: results,
    ms: performance.now() - started,
    ...(failed && server ? { serverOutput: combinedOutput(servers) } : {}),
  };
}

/** One server's output, or every node's, each under a heading. */
function combinedOutput(servers: readonly ServerProcess[]): string {
  if (servers.length === 1) return servers[0]?.output ?? '';
  return servers.map((s, i) => `=== node ${i} ===\n${s.output.trimEnd()}`).join('\n');
}

/** The flags each node of a cluster gets on top of the scenario's own. */
function clusterArgs(scenario: Scenario, redis: RedisProcess, node: number): string[] {
  const given = (flag: string): boolean => scenario.server.args.some((a) => a === flag || a.startsWith(`${flag}=`));
  const timing = given('--cluster-lease') || given('--cluster-heartbeat') ? [] : ['--cluster-lease', CLUSTER_LEASE_S, '--cluster-heartbeat', CLUSTER_HEARTBEAT_S];
  return ['--cluster', redis.url, '--node-id', `node${node}`, ...timing];
}

/**
 * Starts the scenario's server, or every node of its cluster (one after the
 * other, each pushed onto `started` at once so a failure can stop the rest).
 */
async function startServers(
  scenario: Scenario,
  filesDir: string,
  options: RunOptions,
  redis: RedisProcess | undefined,
  started: ServerProcess[],
): Promise<{ servers: ServerProcess[]; downloads: boolean }> {
  const bin = options.serverBin;
  const mode = options.udp ?? 'auto';
  const key = bin ?? '';
  const make = (udpPort: number, node: number): ServerProcess => {
    const s = new ServerProcess({ bin, filesDir, udpPort, args: [...scenario.server.args, ...(redis ? clusterArgs(scenario, redis, node) : [])] });
    started.push(s);
    return s;
  };
  let udpPort = -1;
  if (mode === 'on' || (mode === 'auto' && udpSupport.get(key) !== false)) {
    try {
      await make(0, 0).start();
      udpSupport.set(key, true);
      udpPort = 0;
    } catch (err) {
      // A build without the UDP service refuses to start with a UDP port: remember that and go on without downloads.
      if (mode === 'on' || !(err instanceof ServerStartError) || !/udp/iu.test(err.output)) throw err;
      udpSupport.set(key, false);
      started.pop();
    }
  }
  if (started.length === 0) await make(-1, 0).start();
  for (let node = 1; node < scenario.server.nodes; node++) await make(udpPort, node).start();
  return { servers: [...started], downloads: started[0]?.udpPort !== undefined };
}

async function writeFiles(dir: string, files: ReadonlyMap<string, FileSpec>): Promise<void> {
  for (const [name, spec] of files) {
    if (spec.kind === 'dir') await mkdir(join(dir, name));
    else await writeFile(join(dir, name), spec.kind === 'text' ? spec.text : seededBytes(spec.size, spec.seed));
  }
}


/** One-line, human description of a step. */
export function stepTitle(step: Step, scenario: Scenario): string {
  if (step.note) return step.note;
  const who = 'clients' in step ? step.clients.map((c) => groupLabel(scenario, c)).join(', ') : '';
  const s = 'clients' in step && step.clients.length === 1 && isSingle(scenario, step.clients[0]) ? 's' : '';
  switch (step.action) {
    case 'connect':
      return `${who} connect${s} (TCP only, no nickname)`;
    case 'join':
      return `${who} join${s}`;
    case 'send':
      return `${who} send${s} ${describePayload(step.payload)}${step.times > 1 ? ` × ${step.times}` : ''}`;
    case 'expect':
      return `${who} receive${s} ${describeMatch(step.match)}`;
    case 'expect-absent':
      return `${who} never received ${describeMatch(step.match)}`;
    case 'sync':
      return `${who} sync${s} (sends online, waits for the reply)`;
    case 'expect-closed':
      return `server closes the connection of ${who}`;
    case 'close':
      return `${who} close${s} the connection`;
    case 'kill':
      return `${who} drop${s} the connection (reset)`;
    case 'stop-reading':
      return `${who} stop${s} reading`;
    case 'server-signal':
      return `server gets ${step.signal}`;
    case 'expect-server-exit':
      return `server exits with code ${step.code}`;
    case 'kill-node':
      return `node ${step.node} is killed with SIGKILL`;
    case 'download':
      return `${who} download${s} ${step.file}${step.relay ? ` through a relay (loss ${step.relay.loss}, reorder ${step.relay.reorder}, duplicate ${step.relay.duplicate})` : ''}${step.killAfterBytes ? `, killed with SIGKILL after ${step.killAfterBytes} bytes` : ''}`;
  }
}

function isSingle(scenario: Scenario, name: string | undefined): boolean {
  return name === undefined || (scenario.clients.get(name)?.single ?? true);
}

function groupLabel(scenario: Scenario, name: string): string {
  const g = scenario.clients.get(name);
  return g && !g.single ? `${name} (${g.nicks.length})` : name;
}

function describePayload(p: Payload): string {
  switch (p.kind) {
    case 'lines':
      return p.lines.map((l) => JSON.stringify(l)).join(', ');
    case 'hex':
      return `bytes ${p.hex.length > 40 ? `${p.hex.slice(0, 40)}…` : p.hex}`;
    case 'repeat':
      return `a ${Buffer.byteLength(p.prefix) + Buffer.byteLength(p.text) * p.times}-byte line (${JSON.stringify(p.prefix)} + ${JSON.stringify(p.text)} × ${p.times})`;
  }
}

function payloadBytes(p: Payload, self: string, nickOf: (c: string) => string): Buffer {
  switch (p.kind) {
    case 'lines':
      return Buffer.from(p.lines.map((l) => `${fill(l, self, nickOf)}\n`).join(''), 'utf8');
    case 'hex':
      return Buffer.from(p.hex, 'hex');
    case 'repeat':
      return Buffer.from(`${p.prefix}${p.text.repeat(p.times)}\n`, 'utf8');
  }
}

/** Runs fn for every item (at most `concurrency` at once); reports every failure (the first few shown) as one StepFailure. */
async function forAll<T>(items: readonly T[], fn: (item: T) => Promise<void>, label: (item: T) => string, concurrency = items.length): Promise<void> {
  const failures: Array<{ item: T; err: Error }> = [];
  for (let i = 0; i < items.length; i += Math.max(1, concurrency)) {
    const batch = items.slice(i, i + Math.max(1, concurrency));
    const outcomes = await Promise.allSettled(batch.map(fn));
    outcomes.forEach((o, j) => {
      if (o.status === 'rejected') failures.push({ item: batch[j] as T, err: o.reason as Error });
    });
  }
  if (failures.length === 0) return;
  const shown = failures.slice(0, 3);
  const more = failures.length > shown.length ? ` (and ${failures.length - shown.length} more of ${items.length})` : '';
  throw new StepFailure(
    shown.map((f) => `${label(f.item)}: ${f.err.message}`).join('; ') + more,
    shown.map((f) => ({ nick: label(f.item), lines: f.err instanceof ExpectationError ? f.err.received : [] })),
  );
}

/** The clients and the server of one running scenario. */
class World {
  readonly #clients = new Map<string, LineClient>();

  /** Indexes of the nodes a kill-node step has SIGKILLed. */
  readonly killed = new Set<number>();
  /** Each nickname's node (group members share their group's). */
  readonly #nodeOf = new Map<string, number>();

  constructor(
    readonly scenario: Scenario,
    readonly host: string,
    /** Each node's TCP port (one, for a single server or --target). */
    readonly ports: readonly number[],
    /** The spawned server(s); none against --target. */
    readonly servers: readonly ServerProcess[],
    readonly filesDir: string | undefined,
  ) {
    for (const g of scenario.clients.values()) for (const n of g.nicks) this.#nodeOf.set(n, g.node);
  }

  /** Node 0: the one server signals, exits and downloads are about. */
  get server(): ServerProcess | undefined {
    return this.servers[0];
  }

  get port(): number {
    return this.ports[0] ?? 0;
  }

  nickOf = (client: string): string => this.scenario.clients.get(client)?.nicks[0] ?? client;

  readonly #autoPong = new Map<string, boolean>();

  #nicks(names: readonly string[]): string[] {
    return names.flatMap((n) => this.scenario.clients.get(n)?.nicks ?? [n]);
  }

  #client(nick: string): LineClient {
    const c = this.#clients.get(nick);
    if (!c) throw new StepFailure(`${nick} is not connected (add a connect or join step first)`);
    return c;
  }

  async #connect(nick: string, waitPrompt: boolean): Promise<LineClient> {
    const existing = this.#clients.get(nick);
    if (existing && !existing.closed) return existing;
    if (this.#autoPong.size === 0) for (const g of this.scenario.clients.values()) for (const n of g.nicks) this.#autoPong.set(n, g.autoPong);
    const node = this.#nodeOf.get(nick) ?? 0;
    const port = this.ports[node];
    if (port === undefined) throw new StepFailure(`${nick} connects to node ${node}, but only ${this.ports.length} server(s) are running`);
    if (this.killed.has(node)) throw new StepFailure(`${nick} connects to node ${node}, which a kill-node step has killed`);
    const c = await LineClient.connect({ host: this.host, port, connectTimeoutMs: CONNECT_TIMEOUT_MS, autoPong: this.#autoPong.get(nick) ?? true });
    this.#clients.set(nick, c);
    if (waitPrompt) await c.next((l) => l.startsWith('info '), CONNECT_TIMEOUT_MS, 'the server prompt (info …)');
    return c;
  }

  /** Runs a step; returns facts worth reporting, or throws StepFailure. */
  async run(step: Step): Promise<string[] | undefined> {
    const label = (nick: string): string => nick;
    switch (step.action) {
      case 'connect':
        await forAll(this.#nicks(step.clients), async (n) => void (await this.#connect(n, false)), label, CONNECT_CONCURRENCY);
        return undefined;
      case 'join':
        await forAll(
          this.#nicks(step.clients),
          async (n) => {
            const c = await this.#connect(n, true);
            c.sendLine(n);
            const welcome = await c.next((l) => l.startsWith(`welcome 2 ${n} :`), this.scenario.timeoutMs, `welcome 2 ${n}`);
            // A room past --announce-limit sends no online list with the welcome (and says so).
            if (!/large room/iu.test(welcome)) await c.next((l) => l.startsWith('online '), this.scenario.timeoutMs, 'the online list');
          },
          label,
          CONNECT_CONCURRENCY,
        );
        return undefined;
      case 'send':
        for (const nick of this.#nicks(step.clients)) {
          const one = payloadBytes(step.payload, nick, this.nickOf);
          this.#client(nick).write(step.times === 1 ? one : Buffer.concat(Array.from({ length: step.times }, () => one)));
        }
        return undefined;
      case 'expect': {
        const what = describeMatch(step.match);
        await forAll(this.#nicks(step.clients), (nick) => this.#client(nick).next(matcher(step.match, nick, this.nickOf), step.timeoutMs, what).then(() => undefined), label);
        return undefined;
      }
      case 'expect-absent': {
        await forAll(
          this.#nicks(step.clients),
          async (nick) => {
            const c = this.#client(nick);
            const m = matcher(step.match, nick, this.nickOf);
            const hit = c.lines.findIndex(m);
            if (hit !== -1) throw new ExpectationError(`received it as line ${hit + 1}: ${JSON.stringify(c.lines[hit])}`, c.lines.slice(Math.max(0, hit - 3), hit + 3));
          },
          label,
        );
        return undefined;
      }
      case 'sync':
        await forAll(
          this.#nicks(step.clients),
          async (nick) => {
            const c = this.#client(nick);
            const from = c.lines.length;
            c.sendLine('online');
            await c.reply((l) => l.startsWith('online '), from, step.timeoutMs, 'the reply to online');
          },
          label,
        );
        return undefined;
      case 'expect-closed':
        await forAll(this.#nicks(step.clients), (nick) => this.#client(nick).waitClosed(step.timeoutMs), label);
        return undefined;
      case 'close':
        for (const nick of this.#nicks(step.clients)) this.#client(nick).end();
        return undefined;
      case 'kill':
        for (const nick of this.#nicks(step.clients)) this.#client(nick).destroy();
        return undefined;
      case 'stop-reading':
        for (const nick of this.#nicks(step.clients)) this.#client(nick).stopReading();
        return undefined;
      case 'server-signal':
        if (!this.server) throw new StepFailure('no spawned server to signal');
        this.server.signal(step.signal);
        return undefined;
      case 'expect-server-exit': {
        if (!this.server) throw new StepFailure('no spawned server');
        const exit = await this.server.waitExit(step.timeoutMs).catch((err: Error) => {
          throw new StepFailure(err.message);
        });
        if (exit.code !== step.code) throw new StepFailure(`server exited with code ${exit.code} (signal ${exit.signal}), expected ${step.code}`);
        return undefined;
      }
      case 'kill-node': {
        const node = this.servers[step.node];
        if (!node) throw new StepFailure(`no spawned node ${step.node} to kill (${this.servers.length} running)`);
        node.signal('SIGKILL');
        this.killed.add(step.node);
        const exit = await node.waitExit(step.timeoutMs).catch((err: Error) => {
          throw new StepFailure(`node ${step.node}: ${err.message}`);
        });
        return [`node ${step.node} (pid ${node.pid}) ended with signal ${exit.signal ?? 'none'}, code ${exit.code}`];
      }
      case 'download': {
        const details: string[] = [];
        await forAll(
          this.#nicks(step.clients),
          async (nick) => {
            if (this.#clients.has(nick)) throw new StepFailure(`${nick} downloads as its own process; do not connect or join it in another step`);
            details.push(...(await runDownload(step, { host: this.host, port: this.port, udpPort: this.server?.udpPort, filesDir: this.filesDir, nick })));
          },
          label,
        );
        return details;
      }
    }
  }

  /** Closes every client politely, then resets what is still open. */
  async dispose(): Promise<void> {
    const open = [...this.#clients.values()].filter((c) => !c.closed);
    for (const c of open) c.end();
    await Promise.all(open.map((c) => c.waitClosed(2000).catch(() => c.destroy())));
  }
}
