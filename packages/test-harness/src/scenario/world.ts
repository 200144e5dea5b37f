/*
 * A running scenario's world: its clients (one LineClient per nickname, on the
 * node its group is placed on) and its servers, and how each kind of step acts
 * on them. runner.ts starts and stops the servers and walks the steps.
 */
import { ExpectationError, LineClient } from '../line-client.js';
import type { ServerProcess } from '../server-process.js';
import { runDownload } from './download.js';
import { describeMatch, fill, matcher } from './match.js';
import type { Payload, Scenario, Step } from './types.js';

/** Longest a client may take to connect and see the server's prompt. */
const CONNECT_TIMEOUT_MS = 5000;
/** How many clients connect or join at the same moment. */
const CONNECT_CONCURRENCY = 100;

/** A step that did not hold, with what each client concerned had received. */
export class StepFailure extends Error {
  constructor(
    message: string,
    readonly received: Array<{ nick: string; lines: readonly string[] }> = [],
  ) {
    super(message);
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
export class World {
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
        await forAll(
          this.#nicks(step.clients),
          (nick) =>
            this.#client(nick)
              .next(matcher(step.match, nick, this.nickOf), step.timeoutMs, what)
              .then(() => undefined),
          label,
        );
        return undefined;
      }
      case 'expect-absent': {
        await forAll(
          this.#nicks(step.clients),
          async (nick) => {
            const c = this.#client(nick);
            const m = matcher(step.match, nick, this.nickOf);
            const hit = c.lines.findIndex(m);
            if (hit !== -1)
              throw new ExpectationError(`received it as line ${hit + 1}: ${JSON.stringify(c.lines[hit])}`, c.lines.slice(Math.max(0, hit - 3), hit + 3));
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
