import yargs from 'yargs';
import { loadCommand, type LoadArgs } from './load/command.js';
import { formatResult, formatStep, painter, scenarioHeader, summary } from './report.js';
import { loadScenarioFile, resolveScenarioPaths } from './scenario/load.js';
import { runScenario, type ScenarioResult } from './scenario/runner.js';
import { ScenarioError } from './scenario/validate.js';
import { parseTarget } from './target.js';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

export { parseTarget };

interface RunArgs {
  readonly scenarios: readonly string[];
  readonly target: string | undefined;
  readonly server: string | undefined;
  readonly udp: 'auto' | 'on' | 'off';
  readonly color: boolean;
}

async function runCommand(a: RunArgs): Promise<number> {
  const p = painter(a.color);
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  let target;
  try {
    target = a.target ? parseTarget(a.target) : undefined;
  } catch (err) {
    process.stderr.write(`parley-harness: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  let files: string[];
  try {
    files = resolveScenarioPaths(a.scenarios);
  } catch (err) {
    process.stderr.write(`parley-harness: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  const scenarios = [];
  let invalid = 0;
  for (const f of files) {
    try {
      scenarios.push(loadScenarioFile(f));
    } catch (err) {
      invalid += 1;
      process.stderr.write(`${err instanceof ScenarioError ? err.message : `${f}: ${(err as Error).message}`}\n`);
    }
  }
  if (invalid > 0) return EXIT_USAGE;
  const results: ScenarioResult[] = [];
  for (const s of scenarios) {
    out(scenarioHeader(s, p));
    const r = await runScenario(s, {
      target,
      serverBin: a.server,
      udp: a.udp,
      onStep: (_, step) => out(formatStep(step, p)),
    });
    out(`${formatResult(r, p)}\n`);
    results.push(r);
  }
  out(summary(results));
  return results.some((r) => r.status === 'fail') ? EXIT_FAILED : 0;
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const parser = yargs(argv)
    .scriptName('parley-harness')
    .usage('$0 <command> [options]\n\nRuns Parley scenarios and load tests over real sockets.')
    .command(
      'run [scenarios..]',
      'run scenarios (names from the library, files or folders; none: the whole library)',
      (y) =>
        y
          .positional('scenarios', { type: 'string', array: true, default: [] as string[], describe: 'scenario names or paths' })
          .option('target', { type: 'string', describe: 'host:port of a running server (default: spawn parley-server on free ports per scenario)' })
          .option('server', { type: 'string', describe: 'parley-server bin.js to spawn (default: the built @parley/server; env PARLEY_SERVER_BIN)' })
          .option('udp', {
            choices: ['auto', 'on', 'off'] as const,
            default: 'auto' as const,
            describe: 'UDP downloads on the spawned server; auto: on when the build has them',
          })
          .option('color', { type: 'boolean', default: process.stdout.isTTY === true, describe: 'colour the report' })
          .example('$0 run', 'every scenario in the library, each against its own fresh server')
          .example('$0 run broadcast errors-nickname', 'two scenarios by name')
          .example('$0 run --target 127.0.0.1:55000 broadcast', 'against a server you started'),
      async (a) => {
        code = await runCommand({ scenarios: a.scenarios ?? [], target: a.target, server: a.server, udp: a.udp, color: a.color });
      },
    )
    .command(
      'load <mode>',
      'load runs: fan-out, private, idle (Parley and, with --dialect irc, an IRC server)',
      (y) =>
        y
          .positional('mode', {
            choices: ['fanout', 'private', 'idle', 'transfer', 'suite', 'tls'] as const,
            demandOption: true,
            describe:
              'transfer: --clients concurrent UDP downloads (Parley only); suite: the whole side-by-side matrix (Parley and ngIRCd), written with --out; tls: fan-out 200 × 8 and 10 000 joins over plain TCP and TLS, --runs pairs, written with --out',
          })
          .option('clients', { alias: 'c', type: 'number', default: 10, describe: 'clients connected' })
          .option('rate', { alias: 'r', type: 'number', default: 10, describe: 'messages per second each sender sends' })
          .option('senders', { type: 'number', describe: 'how many clients send (default: all)' })
          .option('duration', { alias: 'd', type: 'number', default: 10, describe: 'seconds of sending' })
          .option('warmup', { type: 'number', default: 1, describe: 'seconds of sending not measured' })
          .option('size', { type: 'number', default: 64, describe: 'bytes per chat line on the wire' })
          .option('dialect', {
            choices: ['parley', 'irc', 'both'] as const,
            default: 'parley' as const,
            describe: 'parley: a spawned parley-server; irc: a spawned ngIRCd (bench/load/ngircd.conf); both: one after the other',
          })
          .option('out', { type: 'string', describe: 'suite: write the Markdown results here (e.g. bench/load/RESULTS.md)' })
          .option('quick', { type: 'boolean', default: false, describe: 'suite: 3-second runs and 1 000 idle clients only' })
          .option('target', { type: 'string', describe: 'host:port of a running server (default: spawn one)' })
          .option('server-pid', { type: 'number', describe: 'pid of the --target server, for its CPU and memory' })
          .option('server', { type: 'string', describe: 'parley-server bin.js to spawn' })
          .option('server-arg', { type: 'string', array: true, default: [] as string[], describe: 'extra flag for a spawned parley-server (repeatable)' })
          .option('cpu-prof', { type: 'string', describe: 'spawned parley-server: write a V8 CPU profile into this folder' })
          .option('file-mb', { type: 'number', default: 20, describe: 'transfer: size of the file every client downloads, in MB' })
          .option('nick', {
            type: 'boolean',
            default: true,
            describe: 'idle: clients send a nickname and join (IRC: NICK/USER); --no-nick: TCP connections only',
          })
          .option('tls', {
            type: 'boolean',
            default: false,
            describe: 'fanout/private/idle: connect over TLS (a spawned server gets a self-signed certificate; with --target, give --ca)',
          })
          .option('ca', { type: 'string', describe: '--tls with --target: PEM certificate or CA to verify the server against' })
          .option('runs', { type: 'number', default: 3, describe: 'tls mode: pairs of runs (plain and TLS, order alternating) of each kind' })
          .option('connect-concurrency', { type: 'number', default: 256, describe: 'idle mode: connections opened at once' })
          .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
          .example('$0 load fanout -c 200 -r 8 --dialect both', 'fan-out, Parley then ngIRCd')
          .example('$0 load idle -c 10000', '10 000 idle Parley clients: memory per client, time to connect')
          .example('$0 load suite --dialect both --out bench/load/RESULTS.md', 'the whole comparison')
          .example('$0 load tls --runs 5 --out bench/tls/RESULTS.md', 'chat over TLS beside plain TCP (issue 14)'),
      async (a) => {
        code = await loadCommand(a as unknown as LoadArgs);
      },
    )
    .demandCommand(1, 'say which command: run or load')
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    process.stderr.write(`parley-harness: ${(err as Error).message}\nTry parley-harness --help\n`);
    return EXIT_USAGE;
  }
  return code;
}
