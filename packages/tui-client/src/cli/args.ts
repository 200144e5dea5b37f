import yargs from 'yargs';
import { parseServer } from '../net/server-address.js';
import { parseFingerprint, type Fingerprint } from '../net/trust.js';
import { CLIENT_ENV } from './env.js';

export const DEFAULT_PORT = 55000;
/** The server's default TLS port (`parley-server --tls-port`). */
export const DEFAULT_TLS_PORT = 55443;

export interface ClientArgs {
  readonly command: 'chat' | 'online' | 'files' | 'send' | 'download' | 'share';
  readonly host: string | undefined;
  readonly port: number;
  /** --port or PARLEY_CLIENT_PORT was given (else `port` is the default for plain or TLS). */
  readonly portGiven: boolean;
  /** Speak TLS (--tls, or implied by --ca / --fingerprint). */
  readonly tls: boolean;
  /** --ca: a PEM file of the CAs to trust instead of the system's. */
  readonly ca: string | undefined;
  /** --fingerprint, canonical. */
  readonly fingerprint: Fingerprint | undefined;
  readonly nick: string | undefined;
  /** --password-file: the file whose first line is the password of a registered --nick (scripted commands). */
  readonly passwordFile: string | undefined;
  readonly downloadDir: string;
  readonly bell: boolean;
  readonly logFile: string | undefined;
  readonly timeout: number;
  readonly to: string | undefined;
  readonly all: boolean;
  readonly text: string;
  readonly file: string;
}

function fromEnv(env: NodeJS.ProcessEnv) {
  const get = (name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const port = get(CLIENT_ENV.port) === undefined ? undefined : Number(get(CLIENT_ENV.port));
  const bellText = get(CLIENT_ENV.bell);
  const bell = bellText === undefined ? undefined : !/^(0|false|no|off)$/iu.test(bellText);
  const tlsText = get(CLIENT_ENV.tls);
  const tls = tlsText === undefined ? undefined : /^(1|true|yes|on)$/iu.test(tlsText);
  return {
    host: get(CLIENT_ENV.host),
    port,
    nick: get(CLIENT_ENV.nick),
    passwordFile: get(CLIENT_ENV.passwordFile),
    downloadDir: get(CLIENT_ENV.downloadDir),
    bell,
    logFile: get(CLIENT_ENV.logFile),
    tls,
    ca: get(CLIENT_ENV.ca),
    fingerprint: get(CLIENT_ENV.fingerprint),
  };
}

/** The client's version, set by scripts/bundle.mjs (esbuild `define`); "dev" when run from source. */
declare const PARLEY_CLIENT_VERSION: string | undefined;
export const VERSION = typeof PARLEY_CLIENT_VERSION === 'string' ? PARLEY_CLIENT_VERSION : 'dev';

export function parser(argv: string[], env: NodeJS.ProcessEnv = process.env) {
  const e = fromEnv(env);
  return yargs(argv)
    .scriptName('parley')
    .usage(
      [
        '$0 [options]                      chat on screen (asks for server and nickname if missing)',
        '$0 online|files [options]         print who is online / the files on the server',
        '$0 send --to <nick> <text>        send a private message',
        '$0 send --all <text>              send a message to everyone',
        '$0 download <file>                download a file (progress on stderr)',
        '$0 share <path> [--to <nick>]     share a file with everyone or one user (progress on stderr)',
        '',
        'Options can also be set in the environment: PARLEY_CLIENT_HOST, PARLEY_CLIENT_PORT,',
        'PARLEY_CLIENT_NICK, PARLEY_CLIENT_DOWNLOAD_DIR, PARLEY_CLIENT_BELL (0 = off),',
        'PARLEY_CLIENT_LOG_FILE, PARLEY_CLIENT_TLS (1 = on), PARLEY_CLIENT_CA, PARLEY_CLIENT_FINGERPRINT,',
        'PARLEY_CLIENT_PASSWORD_FILE (a path, never the password);',
        'also PARLEY_CLIENT_LOG_LEVEL (default debug) and PARLEY_CLIENT_TERM (default xterm-256color).',
        "PARLEY_HOST/PARLEY_PORT are the server's.",
      ].join('\n'),
    )
    .command('$0', false)
    .command('online', 'print who is online, one per line')
    .command('files', 'print the files on the server: name<TAB>size in bytes')
    .command('send [text..]', 'send a message, then leave', (y) =>
      y
        .positional('text', { type: 'string', array: true, describe: 'the message' })
        .option('to', { type: 'string', describe: 'nickname to send to privately' })
        .option('all', { type: 'boolean', default: false, describe: 'send to everyone' })
        .check((a) => {
          if (!a.to === !a.all) throw new Error('send needs exactly one of --to <nick> or --all');
          if (!a.text || a.text.join(' ').trim() === '') throw new Error('send needs the text of the message');
          return true;
        }),
    )
    .command('download <file>', 'download a file into --download-dir; exit code 0 only when its SHA-256 is verified', (y) =>
      y.positional('file', { type: 'string', demandOption: true, describe: 'the file name as listed by `parley files`' }),
    )
    .command('share <path>', 'share a file with everyone (or --to one user); exit code 0 only when the server has verified it', (y) =>
      y
        .positional('path', { type: 'string', demandOption: true, describe: 'the file to share' })
        .option('to', { type: 'string', describe: 'share with this user only (and yourself)' }),
    )
    .option('host', {
      type: 'string',
      default: e.host,
      defaultDescription: '$PARLEY_CLIENT_HOST',
      describe: 'server address (on screen: asked for when missing; blank = this machine)',
    })
    .option('port', {
      type: 'number',
      default: e.port,
      defaultDescription: `$PARLEY_CLIENT_PORT or ${DEFAULT_PORT} (${DEFAULT_TLS_PORT} with --tls)`,
      describe: 'server TCP port',
    })
    .option('tls', {
      type: 'boolean',
      default: e.tls ?? false,
      defaultDescription: '$PARLEY_CLIENT_TLS or false',
      describe: 'connect with TLS, verifying the server against the system CAs, --ca, a pin or --fingerprint',
    })
    .option('ca', {
      type: 'string',
      default: e.ca,
      defaultDescription: '$PARLEY_CLIENT_CA',
      describe: "PEM file of the CAs to trust instead of the system's (implies --tls)",
    })
    .option('fingerprint', {
      type: 'string',
      default: e.fingerprint,
      defaultDescription: '$PARLEY_CLIENT_FINGERPRINT',
      describe: "require the server certificate's SHA-256 fingerprint (SHA256:AB:CD:…, colons optional; implies --tls)",
    })
    .option('nick', { type: 'string', default: e.nick, defaultDescription: '$PARLEY_CLIENT_NICK', describe: 'nickname (on screen: asked for when missing)' })
    .option('password-file', {
      type: 'string',
      default: e.passwordFile,
      defaultDescription: '$PARLEY_CLIENT_PASSWORD_FILE',
      describe:
        'online|files|send|download: log in to a registered --nick with the password on the first line of this file. ' +
        'Never on the command line or in an environment variable: other users can read those (ps, /proc/<pid>/environ) and shells keep them in history',
    })
    .option('download-dir', {
      type: 'string',
      default: e.downloadDir ?? '.',
      defaultDescription: '$PARLEY_CLIENT_DOWNLOAD_DIR or .',
      describe: 'folder to save downloads in',
    })
    .option('bell', {
      type: 'boolean',
      default: e.bell ?? true,
      defaultDescription: '$PARLEY_CLIENT_BELL or true',
      describe: 'ring the terminal bell on a private message or a mention (--no-bell: off)',
    })
    .option('log-file', {
      type: 'string',
      default: e.logFile,
      defaultDescription: '$PARLEY_CLIENT_LOG_FILE',
      describe: 'write a debug log here (the screen is never used for logs)',
    })
    .option('timeout', { type: 'number', default: 15, describe: 'scripted commands: seconds to wait for the server' })
    .check((a) => {
      if (a.port !== undefined && (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535))
        throw new Error(`--port must be 1-65535 (got ${String(a.port)})`);
      if (a.fingerprint !== undefined && parseFingerprint(a.fingerprint) === undefined) {
        throw new Error(`--fingerprint must be a SHA-256 fingerprint: SHA256: and 64 hex digits, colons optional (got "${a.fingerprint}")`);
      }
      if (a.ca !== undefined && a.ca.trim() === '') throw new Error('--ca needs a file');
      if (a['password-file'] !== undefined && a['password-file'].trim() === '') throw new Error('--password-file needs a file');
      if (!(a.timeout > 0)) throw new Error('--timeout must be a positive number of seconds');
      return true;
    })
    .epilogue(
      [
        'Exit codes: 0 done, 1 failed, 2 usage, 3 (--tls) the certificate is not trusted,',
        '4 (--tls) the certificate differs from the one pinned in the known-servers file,',
        '5 the nickname is registered and the login failed: no --password-file, a wrong password,',
        'too many tries (wait), or the server takes passwords only over TLS (use --tls).',
        "The chat screen asks for a registered nickname's password itself (masked) and never stores it.",
        'A self-signed server is pinned on first use on the chat screen (parley --tls), or given with',
        '--fingerprint; pins are in $XDG_CONFIG_HOME/parley/known-servers (~/.config/parley/…).',
      ].join('\n'),
    )
    .strict()
    .help()
    .alias('h', 'help')
    .version(VERSION)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    });
}

/**
 * yargs lays out a command's whole help text as soon as the command parses
 * (≈ 18 ms of every `parley online|files|send|download|share`), to print it
 * should the command's handler fail later. Ours have no handler (the command
 * runs after parsing, and reports its own errors), so that copy is never read:
 * it is not made. Help asked for, and a bad command line, are printed as before
 * (test/cli-script.test.ts). If yargs' internals change shape, nothing is skipped.
 */
function withoutHelpCache<T>(y: T): T {
  const internal = y as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } };
  const usage = internal.getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
  return y;
}

/** Parses the command line. Returns undefined when --help or --version was printed. */
export async function parseClientArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<ClientArgs | undefined> {
  const a = await withoutHelpCache(parser(argv, env)).parseAsync();
  if (a.help || a.version) return undefined;
  const first = String(a._[0] ?? 'chat');
  const command = (['online', 'files', 'send', 'download', 'share'].includes(first) ? first : 'chat') as ClientArgs['command'];
  const text = (a.text as string[] | undefined)?.join(' ') ?? '';
  const fingerprint = a.fingerprint === undefined ? undefined : parseFingerprint(a.fingerprint);
  // --host tls://name[:port] is --tls --host name [--port port].
  let host = a.host;
  let hostPort: number | undefined;
  let tlsScheme = false;
  if (host !== undefined && /^\s*tls:\/\//iu.test(host)) {
    const parsed = parseServer(host, a.port ?? DEFAULT_TLS_PORT);
    if (typeof parsed === 'string') throw new Error(`--host: ${parsed}`);
    if (a.port !== undefined && parsed.port !== a.port) throw new Error(`--host ${host} and --port ${a.port} name different ports`);
    host = parsed.host;
    hostPort = parsed.port;
    tlsScheme = true;
  }
  const tls = Boolean(a.tls) || tlsScheme || a.ca !== undefined || fingerprint !== undefined;
  return {
    command,
    host,
    port: hostPort ?? a.port ?? (tls ? DEFAULT_TLS_PORT : DEFAULT_PORT),
    portGiven: a.port !== undefined || hostPort !== undefined,
    tls,
    ca: a.ca,
    fingerprint,
    nick: a.nick,
    passwordFile: a['password-file'],
    downloadDir: a['download-dir'],
    bell: a.bell,
    logFile: a['log-file'],
    timeout: a.timeout,
    to: a.to as string | undefined,
    all: Boolean(a.all),
    text,
    file: String(a.file ?? a.path ?? ''),
  };
}
