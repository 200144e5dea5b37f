import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { checkNickname, HISTORY_MAX_PAGE } from '@parley/protocol';
import { checkTrustedAddresses } from './address-limits.js';
import { createLogger, type LogFormat } from './logger.js';
import { DEFAULT_CHAT_OPTIONS as D } from './options.js';
import { DEFAULT_SHARE_LIMITS as S, SHARING_MODES, parseBytes } from './sharing/share-options.js';
import type { TlsCredentials } from './tls-credentials.js';

const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;

/** The prefix of this server's environment variables: `--udp-port` is `PARLEY_UDP_PORT`. */
export const ENV_PREFIX = 'PARLEY_';

/** The environment variable for an option: `udp-port` → `PARLEY_UDP_PORT`. */
export function envName(option: string): string {
  return `${ENV_PREFIX}${option.replace(/-/gu, '_').toUpperCase()}`;
}

/**
 * Parses the command line. Options also come from `env` (read, never
 * changed): each option's own variable only, given to the parser as a flag
 * placed before `argv`, so a flag on the command line wins (the last of a
 * repeated flag wins) and both win over --config, which only fills what is
 * still unset. Any other variable — `PARLEY_NICK` (the client's), a bare
 * `PARLEY` — is no concern of the parser.
 */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const fromEnv: string[] = [];
  for (const option of ENV_OPTIONS) {
    const value = env[envName(option)];
    if (value !== undefined) fromEnv.push(`--${option}`, value);
  }
  const parser = yargs([...fromEnv, ...argv])
    .scriptName('parley-server')
    .usage(
      '$0 [options]\n\nStarts a Parley chat server. Every option can also be set as an environment variable (--udp-port is PARLEY_UDP_PORT) or in a JSON file given with --config ({"udp-port": 57000}). Flags win over the environment, which wins over the file.',
    )
    // A flag given twice: the last one wins (as in most servers), not an array.
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .config('config', 'JSON file of options, e.g. /etc/parley/server.json', (path: string) => readConfigFile(path))
    .option('host', {
      type: 'string',
      default: '::',
      describe: "address to listen on for chat (TCP); '::' takes IPv6 and IPv4 clients (dual stack) and falls back to 0.0.0.0 on a machine without IPv6",
    })
    .option('port', { type: 'number', default: 55000, describe: 'TCP port for plain-text chat (nc works here; -1: off)' })
    .option('tls-port', { type: 'number', default: -1, describe: 'TCP port for chat over TLS, e.g. 55443 (-1: off); needs --tls-cert and --tls-key' })
    .option('tls-cert', { type: 'string', describe: "PEM certificate (with its chain, e.g. Let's Encrypt fullchain.pem); re-read on SIGHUP" })
    .option('tls-key', { type: 'string', describe: 'PEM private key of --tls-cert (e.g. privkey.pem); re-read on SIGHUP' })
    .option('tls-only', { type: 'boolean', default: false, describe: 'no plain-text port: chat only over TLS (same as --port -1)' })
    .option('udp-host', { type: 'string', describe: 'address for file transfers (UDP); default: --host' })
    .option('udp-port', { type: 'number', default: 57000, describe: 'UDP port for file transfers (0: any free port, -1: downloads off)' })
    .option('downloads-per-user', { type: 'number', default: 4, describe: 'downloads offered or running at once for one chat user' })
    .option('downloads-per-address', { type: 'number', default: 8, describe: 'downloads running at once to one IP address' })
    .option('max-downloads', { type: 'number', default: 256, describe: 'downloads offered or running at once on the whole server' })
    .option('files-dir', { type: 'string', default: 'files', describe: 'folder of files to offer; created with a welcome.txt if missing' })
    .option('max-clients', { type: 'number', default: D.maxClients, describe: 'most clients connected at once' })
    .option('max-line-bytes', { type: 'number', default: D.maxLineBytes, describe: 'longest line a client may send' })
    .option('rate', { type: 'number', default: D.rate, describe: 'messages per second a client may send (sustained)' })
    .option('burst', { type: 'number', default: D.burst, describe: 'messages a client may send in a burst' })
    .option('flood-disconnect-after', {
      type: 'number',
      default: D.floodDisconnectAfter,
      describe: 'lines dropped in a row for flooding before a client is disconnected',
    })
    .option('announce-limit', {
      type: 'number',
      default: D.announceLimit,
      describe: 'announce joins and leaves only while fewer users are online (a large room stays quiet)',
    })
    .option('ping-interval', { type: 'number', default: D.pingIntervalMs / 1000, describe: 'seconds of silence before a client is pinged' })
    .option('idle-timeout', { type: 'number', default: D.idleTimeoutMs / 1000, describe: 'seconds of silence before a client is disconnected' })
    .option('max-clients-per-address', {
      type: 'number',
      default: D.maxClientsPerAddress,
      describe: 'most connections at once from one address (an IPv6 /64 counts as one)',
    })
    .option('max-unjoined-per-address', {
      type: 'number',
      default: D.maxUnjoinedPerAddress,
      describe: 'most connections at once from one address that have not chosen a nickname',
    })
    .option('max-unjoined', {
      type: 'number',
      default: D.maxUnjoined,
      describe: 'most connections at once without a nickname; past it (or when full) the one waiting longest makes room',
    })
    .option('trusted-addresses', {
      type: 'string',
      default: D.trustedAddresses.join(','),
      describe: 'comma-separated addresses and CIDR ranges exempt from the per-address limits ("" for none)',
    })
    .option('join-timeout', { type: 'number', default: D.joinTimeoutMs / 1000, describe: 'seconds a new connection has to send a nickname' })
    .option('send-queue-bytes', { type: 'number', default: D.maxQueuedBytes, describe: 'bytes queued for a client before it is dropped as not reading' })
    .option('shutdown-timeout', { type: 'number', default: D.shutdownTimeoutMs / 1000, describe: 'seconds given to clients to go on SIGTERM/SIGINT' })
    .option('history', {
      type: 'string',
      default: 'on',
      choices: ['on', 'off'],
      describe: 'keep messages, replay them on join and answer the history command (off: nothing is stored)',
    })
    .option('data-dir', {
      type: 'string',
      default: 'data',
      describe: 'folder of the history and accounts databases (history.db, accounts.db) and of shared files (shared/); created if missing',
    })
    .option('accounts', {
      type: 'string',
      default: 'on',
      choices: ['on', 'off'],
      describe: 'let users register their nickname with a password (register, login, password, unregister); off: every nickname is first come, first served',
    })
    .option('operators', {
      type: 'string',
      default: '',
      coerce: (v: unknown) => (Array.isArray(v) ? v.map(String).join(',') : String(v ?? '')),
      describe: 'accounts that may kick and ban, comma-separated (in --config: "operators": ["alice"]); they must be registered and logged in',
    })
    .option('max-waiting-messages', {
      type: 'number',
      default: 100,
      describe: 'private messages that may wait for one offline account (each sender at most a fifth of them)',
    })
    .option('resume-token-days', {
      type: 'number',
      default: 7,
      describe: 'days a resume token (issued at login, used once) logs a client in again without its password; 0: no tokens',
    })
    .option('allow-plaintext-passwords', {
      type: 'boolean',
      default: false,
      describe: 'accept passwords over plain TCP from any address (by default only over TLS, or from loopback)',
    })
    .option('history-on-join', { type: 'number', default: D.historyOnJoin, describe: 'messages replayed to a user who joins (0: none, at most 500)' })
    .option('history-max-messages', { type: 'number', default: 1_000_000, describe: 'keep at most this many messages (the oldest are deleted first)' })
    .option('history-max-days', { type: 'number', default: 30, describe: 'delete messages older than this many days (0: no age limit)' })
    .option('history-private-grace', {
      type: 'number',
      default: 600,
      describe: 'seconds a nickname may be away and still see its earlier private messages; after that the next user of the nickname does not',
    })
    .option('sharing', {
      type: 'string',
      default: 'on',
      choices: SHARING_MODES,
      describe: 'let users share files with everyone or one user (share, unshare); registered: only users logged in to an account; off: nobody',
    })
    .option('share-max-file-size', { type: 'string', default: '1G', describe: 'largest file a user may share (bytes, or 512K, 100M, 1G)' })
    .option('share-max-per-user', { type: 'string', default: '2G', describe: 'bytes one user may have shared at once, uploads under way included' })
    .option('share-max-total', { type: 'string', default: '20G', describe: 'bytes of all shared files together (in <data-dir>/shared)' })
    .option('share-min-free-disk', { type: 'string', default: '1G', describe: 'free disk space kept: a share that would leave less is refused' })
    .option('share-max-days', { type: 'number', default: S.maxDays, describe: 'shared files are removed after this many days (0: kept until removed)' })
    .option('share-uploads-per-user', { type: 'number', default: S.uploadsPerUser, describe: 'uploads at once from one user' })
    .option('share-max-uploads', { type: 'number', default: S.maxUploads, describe: 'uploads at once on the server' })
    .option('share-uploads-per-address', {
      type: 'number',
      default: S.uploadsPerAddress,
      describe: 'uploads at once from one IP address, all its users together',
    })
    .option('cluster', {
      type: 'string',
      describe: 'redis://host:port — run as one node of a cluster sharing users through Redis (default: single node, in memory)',
    })
    .option('node-id', { type: 'string', describe: "this node's name in the cluster (default: host name and pid)" })
    .option('cluster-lease', {
      type: 'number',
      default: 5,
      describe: "seconds a node's nick leases last without a heartbeat (a dead node's users leave within lease + heartbeat)",
    })
    .option('cluster-heartbeat', { type: 'number', default: 1, describe: 'seconds between lease renewals' })
    .option('cluster-delivery', {
      type: 'string',
      default: 'stream',
      choices: ['stream', 'pubsub'],
      describe: 'how messages travel between nodes: stream (Redis Streams: history, and nothing lost across a reconnect) or pubsub (at most once, no history)',
    })
    .option('ops-port', { type: 'number', default: -1, describe: 'port for /healthz, /readyz and /metrics (-1: off, 0: any free port)' })
    .option('ops-host', { type: 'string', default: '127.0.0.1', describe: 'address for the operations endpoint' })
    .option('log-level', { type: 'string', default: 'info', choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] })
    .option('log-format', { type: 'string', default: 'auto', choices: ['auto', 'json', 'pretty'], describe: 'auto: pretty on a terminal, JSON otherwise' })
    .check((a) => {
      const positive = [
        'max-clients',
        'max-clients-per-address',
        'max-unjoined-per-address',
        'max-unjoined',
        'downloads-per-user',
        'downloads-per-address',
        'max-downloads',
        'max-line-bytes',
        'rate',
        'burst',
        'flood-disconnect-after',
        'announce-limit',
        'ping-interval',
        'idle-timeout',
        'join-timeout',
        'send-queue-bytes',
        'share-uploads-per-user',
        'share-max-uploads',
        'share-uploads-per-address',
      ] as const;
      for (const k of positive) {
        const v = a[k];
        if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`--${k} must be a positive number (got ${String(v)})`);
      }
      if (!Number.isInteger(a.port) || a.port < -1 || a.port > 65535)
        throw new Error(`--port must be -1 (off), 0 (any free port) or a port number (got ${a.port})`);
      const t = a['tls-port'];
      if (!Number.isInteger(t) || t < -1 || t > 65535) throw new Error(`--tls-port must be -1 (off), 0 (any free port) or a port number (got ${t})`);
      if (t >= 0 && (!a['tls-cert'] || !a['tls-key']))
        throw new Error('--tls-port needs --tls-cert and --tls-key (make a self-signed pair with: parley-server self-signed --help)');
      if (t < 0 && (a['tls-cert'] || a['tls-key'])) throw new Error('--tls-cert and --tls-key need --tls-port (e.g. --tls-port 55443)');
      if (a['tls-only'] && t < 0) throw new Error('--tls-only needs --tls-port, --tls-cert and --tls-key');
      if (t >= 0 && t !== 0 && t === a.port && !a['tls-only'])
        throw new Error(`--tls-port and --port are both ${t}; give them different ports (or --tls-only)`);
      if (a.port < 0 && t < 0) throw new Error('no chat port: --port is -1 and there is no --tls-port');
      const u = a['udp-port'];
      if (!Number.isInteger(u) || u < -1 || u > 65535) throw new Error(`--udp-port must be -1, 0 or a port number (got ${u})`);
      if (!Number.isFinite(a['shutdown-timeout']) || a['shutdown-timeout'] < 0)
        throw new Error(`--shutdown-timeout must be 0 or more (got ${a['shutdown-timeout']})`);
      if (a.cluster !== undefined && !/^rediss?:\/\/[^\s]+$/u.test(a.cluster)) throw new Error(`--cluster must be a redis:// URL (got ${a.cluster})`);
      if (!(a['cluster-heartbeat'] > 0) || !(a['cluster-lease'] >= 2 * a['cluster-heartbeat'])) {
        throw new Error('--cluster-lease must be at least twice --cluster-heartbeat, both positive');
      }
      try {
        checkTrustedAddresses(trustedList(a['trusted-addresses']));
      } catch (err) {
        throw new Error(`--trusted-addresses: ${(err as Error).message}`);
      }
      const j = a['history-on-join'];
      if (!Number.isInteger(j) || j < 0 || j > HISTORY_MAX_PAGE) throw new Error(`--history-on-join must be 0 to ${HISTORY_MAX_PAGE} (got ${j})`);
      const w = a['max-waiting-messages'];
      if (!Number.isInteger(w) || w < 0 || w > 100_000) throw new Error(`--max-waiting-messages must be 0 to 100000 (got ${w})`);
      const r = a['resume-token-days'];
      if (!Number.isFinite(r) || r < 0 || r > 365) throw new Error(`--resume-token-days must be 0 to 365 (got ${r})`);
      for (const op of trustedList(a.operators)) {
        if (!checkNickname(op).ok) throw new Error(`--operators: "${op}" is not a nickname`);
      }
      const m = a['history-max-messages'];
      if (!Number.isInteger(m) || m < 1) throw new Error(`--history-max-messages must be a positive whole number (got ${m})`);
      for (const k of ['history-max-days', 'history-private-grace'] as const) {
        if (!Number.isFinite(a[k]) || a[k] < 0) throw new Error(`--${k} must be 0 or more (got ${a[k]})`);
      }
      for (const k of ['share-max-file-size', 'share-max-per-user', 'share-max-total', 'share-min-free-disk'] as const) {
        try {
          parseBytes(a[k]);
        } catch (err) {
          throw new Error(`--${k}: ${(err as Error).message}`);
        }
      }
      if (!Number.isFinite(a['share-max-days']) || a['share-max-days'] < 0) throw new Error(`--share-max-days must be 0 or more (got ${a['share-max-days']})`);
      const o = a['ops-port'];
      if (!Number.isInteger(o) || o < -1 || o > 65535) throw new Error(`--ops-port must be -1, 0 or a port number (got ${o})`);
      for (const k of ['host', 'files-dir', 'ops-host', 'data-dir'] as const) {
        if (typeof a[k] !== 'string' || a[k].length === 0) throw new Error(`--${k} must be a non-empty string`);
      }
      return true;
    });
  return asLibraryParser(parser);
}

/**
 * Both parsers end the same way: unknown options refused, `--help`/`-h`, no
 * `--version`, and errors thrown instead of printed with an exit, so `main`
 * turns them into one line and exit code 2.
 */
function asLibraryParser<T extends Argv<object>>(parser: T): T {
  return parser
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    }) as T;
}

/** Options that can be set from the environment: every option but --help. */
export const ENV_OPTIONS = [
  'config',
  'host',
  'port',
  'tls-port',
  'tls-cert',
  'tls-key',
  'tls-only',
  'udp-host',
  'udp-port',
  'downloads-per-user',
  'downloads-per-address',
  'max-downloads',
  'files-dir',
  'max-clients',
  'max-line-bytes',
  'rate',
  'burst',
  'flood-disconnect-after',
  'announce-limit',
  'ping-interval',
  'idle-timeout',
  'join-timeout',
  'send-queue-bytes',
  'max-clients-per-address',
  'max-unjoined-per-address',
  'max-unjoined',
  'trusted-addresses',
  'shutdown-timeout',
  'history',
  'data-dir',
  'accounts',
  'allow-plaintext-passwords',
  'operators',
  'max-waiting-messages',
  'resume-token-days',
  'history-on-join',
  'history-max-messages',
  'history-max-days',
  'history-private-grace',
  'sharing',
  'share-max-file-size',
  'share-max-per-user',
  'share-max-total',
  'share-min-free-disk',
  'share-max-days',
  'share-uploads-per-user',
  'share-max-uploads',
  'share-uploads-per-address',
  'cluster',
  'node-id',
  'cluster-lease',
  'cluster-heartbeat',
  'cluster-delivery',
  'ops-port',
  'ops-host',
  'log-level',
  'log-format',
] as const;

/** `127.0.0.0/8, ::1` → its entries; "" → none. */
function trustedList(value: string): string[] {
  return value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
}

/** `PARLEY_*` variables (and a bare `PARLEY`) that name no server option: logged once as ignored. */
export function foreignEnv(env: NodeJS.ProcessEnv): string[] {
  const known = new Set<string>(ENV_OPTIONS.map(envName));
  return Object.keys(env)
    .filter((name) => (name === 'PARLEY' || name.startsWith(ENV_PREFIX)) && !known.has(name))
    .sort();
}

/** Reads the --config file: a JSON object of options. Errors name the file and what is wrong. */
function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`--config ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`--config ${path}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`--config ${path}: must be a JSON object of options`);
  return parsed as Record<string, unknown>;
}

/** `parley-server self-signed …`: its own options. */
export function parseSelfSignedArgs(argv: string[]) {
  const parser = yargs(argv)
    .scriptName('parley-server self-signed')
    .usage(
      "$0 --cert FILE --key FILE --name HOST [--name HOST…]\n\nWrites a self-signed TLS certificate and key (ECDSA P-256, made with the openssl command) for --tls-cert/--tls-key, and prints the SHA-256 fingerprint to give to your users: `parley --tls` shows it on first connection and pins it. With a real domain, a Let's Encrypt certificate needs no fingerprint at all (see the README).",
    )
    .option('cert', { type: 'string', demandOption: true, describe: 'where to write the certificate (PEM)' })
    .option('key', { type: 'string', demandOption: true, describe: 'where to write the private key (PEM, mode 0600)' })
    .option('name', { type: 'string', array: true, default: ['localhost'], describe: 'host name or IP address clients connect to (repeat for several)' })
    .option('days', { type: 'number', default: 825, describe: 'days the certificate is valid' })
    .option('force', { type: 'boolean', default: false, describe: 'replace existing files' })
    .check((a) => {
      if (!Number.isInteger(a.days) || a.days < 1 || a.days > 3650) throw new Error(`--days must be 1-3650 (got ${a.days})`);
      return true;
    });
  return asLibraryParser(parser);
}

async function selfSignedMain(argv: string[]): Promise<number> {
  let args;
  try {
    args = await parseSelfSignedArgs(argv).parseAsync();
    if (args.help) return 0;
  } catch (err) {
    process.stderr.write(`parley-server self-signed: ${(err as Error).message}\nTry parley-server self-signed --help\n`);
    return EXIT_USAGE;
  }
  try {
    const { writeSelfSigned } = await import('./self-signed.js');
    const made = await writeSelfSigned({
      certPath: resolve(args.cert),
      keyPath: resolve(args.key),
      names: args.name.map(String),
      days: args.days,
      force: args.force,
    });
    process.stdout.write(
      `wrote ${resolve(args.cert)} and ${resolve(args.key)} (valid until ${made.validTo}; ${made.names})\n` +
        `SHA256 fingerprint: ${made.fingerprint}\n` +
        'Give this fingerprint to your users: `parley --tls` shows it on first connection; they accept it only if it matches.\n',
    );
    return 0;
  } catch (err) {
    process.stderr.write(`parley-server self-signed: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }
}

/** Runs the server until SIGINT/SIGTERM (or a subcommand). Resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'self-signed') return selfSignedMain(argv.slice(1));
  let args;
  const ignoredEnv = foreignEnv(process.env);
  try {
    args = await parseArgs(argv, process.env).parseAsync();
    if (args.help) return 0;
  } catch (err) {
    process.stderr.write(`parley-server: ${(err as Error).message}\nTry parley-server --help\n`);
    return EXIT_USAGE;
  }
  let tls: { port: number; credentials: TlsCredentials } | undefined;
  if (args['tls-port'] >= 0) {
    // node:tls and node:crypto's X509 only for a TLS server: a plain one starts without them.
    const { TlsConfigError, TlsCredentials } = await import('./tls-credentials.js');
    try {
      tls = { port: args['tls-port'], credentials: TlsCredentials.load(resolve(args['tls-cert'] as string), resolve(args['tls-key'] as string)) };
    } catch (err) {
      if (!(err instanceof TlsConfigError)) throw err;
      process.stderr.write(`parley-server: ${err.message}\n`);
      return EXIT_USAGE;
    }
  }
  const log = createLogger(args['log-level'] as 'info', args['log-format'] as LogFormat);
  // Signals are handled from here on, so a supervisor that signals right after "ready" (or during start-up) still gets a clean stop.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  // SIGHUP's default action would stop the server; until it is up there is nothing to reload.
  let onHangup = (): void => log.info('SIGHUP during start-up: ignored');
  process.on('SIGHUP', () => onHangup());
  if (ignoredEnv.length > 0) log.info({ ignored: ignoredEnv }, 'environment variables that are not server options were ignored');
  let server;
  try {
    // Imported once the options are good: --help and a bad option need none of the server.
    const { startServer } = await import('./start.js');
    server = await startServer(
      {
        host: args.host,
        port: args['tls-only'] ? -1 : args.port,
        tls,
        udpHost: args['udp-host'] ?? args.host,
        udpPort: args['udp-port'],
        downloads: {
          maxTransfersPerOwner: args['downloads-per-user'],
          maxTransfersPerAddress: args['downloads-per-address'],
          maxTransfers: args['max-downloads'],
        },
        filesDir: resolve(args['files-dir']),
        options: {
          maxClients: args['max-clients'],
          maxLineBytes: args['max-line-bytes'],
          rate: args.rate,
          burst: args.burst,
          floodDisconnectAfter: args['flood-disconnect-after'],
          announceLimit: args['announce-limit'],
          pingIntervalMs: args['ping-interval'] * 1000,
          idleTimeoutMs: args['idle-timeout'] * 1000,
          joinTimeoutMs: args['join-timeout'] * 1000,
          maxClientsPerAddress: args['max-clients-per-address'],
          maxUnjoinedPerAddress: args['max-unjoined-per-address'],
          maxUnjoined: args['max-unjoined'],
          trustedAddresses: trustedList(args['trusted-addresses']),
          maxQueuedBytes: args['send-queue-bytes'],
          shutdownTimeoutMs: args['shutdown-timeout'] * 1000,
          historyOnJoin: args['history-on-join'],
        },
        history:
          args.history === 'on'
            ? {
                dir: resolve(args['data-dir']),
                maxMessages: args['history-max-messages'],
                maxAgeMs: args['history-max-days'] * 86_400_000,
                privateGraceMs: args['history-private-grace'] * 1000,
              }
            : undefined,
        accounts:
          args.accounts === 'on'
            ? {
                dir: resolve(args['data-dir']),
                allowPlaintextPasswords: args['allow-plaintext-passwords'],
                operators: trustedList(args.operators),
                resumeTokenTtlMs: args['resume-token-days'] * 86_400_000,
                waiting: { perRecipient: args['max-waiting-messages'], perSender: Math.max(1, Math.floor(args['max-waiting-messages'] / 5)) },
              }
            : undefined,
        sharing: {
          mode: args.sharing as (typeof SHARING_MODES)[number],
          dir: resolve(args['data-dir'], 'shared'),
          maxFileBytes: parseBytes(args['share-max-file-size']),
          maxPerUserBytes: parseBytes(args['share-max-per-user']),
          maxTotalBytes: parseBytes(args['share-max-total']),
          minFreeDiskBytes: parseBytes(args['share-min-free-disk']),
          maxDays: args['share-max-days'],
          uploadsPerUser: args['share-uploads-per-user'],
          maxUploads: args['share-max-uploads'],
          uploadsPerAddress: args['share-uploads-per-address'],
        },
        ops: args['ops-port'] >= 0 ? { host: args['ops-host'], port: args['ops-port'] } : undefined,
        cluster: args.cluster
          ? {
              url: args.cluster,
              nodeId: args['node-id'],
              leaseMs: args['cluster-lease'] * 1000,
              heartbeatMs: args['cluster-heartbeat'] * 1000,
              delivery: args['cluster-delivery'] === 'pubsub' ? 'pubsub' : 'stream',
            }
          : undefined,
      },
      log,
    );
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EADDRINUSE' ? `port already in use (${e.message})` : e.code === 'EACCES' ? `permission denied (${e.message})` : e.message;
    log.fatal({ err }, 'cannot start');
    process.stderr.write(`parley-server: cannot start: ${why}\n`);
    return EXIT_FAILURE;
  }
  // The ready line is printed whatever --log-level says: with --port 0 it is how a supervisor learns the ports.
  const at = server.host.includes(':') ? `[${server.host}]` : server.host;
  const listeners = [
    server.port !== undefined ? `chat on ${at}:${server.port}` : undefined,
    server.tlsPort !== undefined ? `TLS chat on ${at}:${server.tlsPort}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  log.child({}, { level: 'info' }).info(
    {
      host: server.host,
      port: server.port ?? 'off',
      tlsPort: server.tlsPort ?? 'off',
      ...(tls ? { tlsFingerprint: tls.credentials.info.fingerprint, tlsValidTo: tls.credentials.info.validTo } : {}),
      udpPort: server.udpPort ?? 'off',
      opsPort: server.opsPort ?? 'off',
      filesDir: server.files.root,
      history: server.history?.path ?? (args.cluster && args.history === 'on' && args['cluster-delivery'] === 'stream' ? 'redis streams' : 'off'),
      accounts: server.accounts ? server.accounts.count : 'off',
      cluster: args.cluster ? args.cluster.replace(/\/\/[^@/]*@/u, '//***@') : 'off',
      pid: process.pid,
    },
    `parley-server ready: ${listeners}, downloads on udp ${server.udpPort ?? 'off'}`,
  );
  // SIGHUP re-reads the TLS certificate and key (a renewal) without dropping anyone. Without
  // TLS there is nothing to reload, and the signal must not stop the server (its default action).
  onHangup = (): void => {
    const result = server.chat.reloadTls();
    if (!result) log.info('SIGHUP: nothing to reload (no --tls-port)');
    else if (result.ok)
      log.info(
        { tlsFingerprint: result.info.fingerprint, tlsValidTo: result.info.validTo, changed: result.changed },
        'SIGHUP: TLS certificate reloaded; new connections use it',
      );
    else log.error({ error: result.error.message }, 'SIGHUP: TLS certificate NOT reloaded; the previous one stays in use');
  };
  const signal = await stopSignal;
  log.info({ signal }, 'shutting down');
  try {
    await server.close();
    log.info('stopped');
    return 0;
  } catch (err) {
    log.error({ err }, 'shutdown failed');
    return EXIT_FAILURE;
  }
}
