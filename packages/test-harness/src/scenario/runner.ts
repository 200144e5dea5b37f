import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededBytes, startRedisServer, type RedisProcess } from '@parley/test-support';
import { ServerProcess, ServerStartError } from '../server-process.js';
import { stepTitle } from './step-title.js';
import type { FileSpec, Scenario } from './types.js';
import { StepFailure, World } from './world.js';

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

/** Lease and heartbeat (seconds) a cluster's nodes get unless the scenario's args set them: a dead node's users leave within 1.25 s. */
const CLUSTER_LEASE_S = '1';
const CLUSTER_HEARTBEAT_S = '0.25';

/** Remembers, per harness run, whether the server build could start UDP downloads. */
const udpSupport = new Map<string, boolean>();

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
  const timing =
    given('--cluster-lease') || given('--cluster-heartbeat') ? [] : ['--cluster-lease', CLUSTER_LEASE_S, '--cluster-heartbeat', CLUSTER_HEARTBEAT_S];
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
