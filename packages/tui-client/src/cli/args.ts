import { parseArgs } from 'node:util';
import { parseServer } from '../net/server-address.js';
import { parseFingerprint, type Fingerprint } from '../net/trust.js';
import { CLIENT_ENV } from './env.js';

// The command line is parsed with node:util's parseArgs and the help is a
// fixed text: yargs took ≈ 60 ms of every start (loading it, then rendering
// its help even for `parley online`), more than all the rest of a scripted
// command's start-up (bench/startup/RESULTS.md).

export const DEFAULT_PORT = 55000;
/** The server's default TLS port (`parley-server --tls-port`). */
export const DEFAULT_TLS_PORT = 55443;

export interface ClientArgs {
  readonly command: 'chat' | 'online' | 'files' | 'send' | 'download';
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

/** A usage error: main prints it with a pointer to --help and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
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

const COMMANDS = ['online', 'files', 'send', 'download'] as const;

interface OptionHelp {
  readonly name: string;
  readonly type: 'string' | 'number' | 'boolean';
  readonly describe: string;
  readonly default?: string;
  /** Only with this command. */
  readonly command?: (typeof COMMANDS)[number];
}

/** Every option, in the order --help lists them. */
const OPTION_HELP: readonly OptionHelp[] = [
  { name: 'host', type: 'string', default: '$PARLEY_CLIENT_HOST', describe: 'server address (on screen: asked for when missing; blank = this machine)' },
  { name: 'port', type: 'number', default: `$PARLEY_CLIENT_PORT or ${DEFAULT_PORT} (${DEFAULT_TLS_PORT} with --tls)`, describe: 'server TCP port' },
  {
    name: 'tls',
    type: 'boolean',
    default: '$PARLEY_CLIENT_TLS or false',
    describe: 'connect with TLS, verifying the server against the system CAs, --ca, a pin or --fingerprint',
  },
  { name: 'ca', type: 'string', default: '$PARLEY_CLIENT_CA', describe: "PEM file of the CAs to trust instead of the system's (implies --tls)" },
  {
    name: 'fingerprint',
    type: 'string',
    default: '$PARLEY_CLIENT_FINGERPRINT',
    describe: "require the server certificate's SHA-256 fingerprint (SHA256:AB:CD:…, colons optional; implies --tls)",
  },
  { name: 'nick', type: 'string', default: '$PARLEY_CLIENT_NICK', describe: 'nickname (on screen: asked for when missing)' },
  {
    name: 'password-file',
    type: 'string',
    default: '$PARLEY_CLIENT_PASSWORD_FILE',
    describe:
      'online|files|send|download: log in to a registered --nick with the password on the first line of this file. ' +
      'Never on the command line or in an environment variable: other users can read those (ps, /proc/<pid>/environ) and shells keep them in history',
  },
  { name: 'download-dir', type: 'string', default: '$PARLEY_CLIENT_DOWNLOAD_DIR or .', describe: 'folder to save downloads in' },
  {
    name: 'bell',
    type: 'boolean',
    default: '$PARLEY_CLIENT_BELL or true',
    describe: 'ring the terminal bell on a private message or a mention (--no-bell: off)',
  },
  { name: 'log-file', type: 'string', default: '$PARLEY_CLIENT_LOG_FILE', describe: 'write a debug log here (the screen is never used for logs)' },
  { name: 'timeout', type: 'number', default: '15', describe: 'scripted commands: seconds to wait for the server' },
  { name: 'to', type: 'string', command: 'send', describe: 'send: nickname to send to privately' },
  { name: 'all', type: 'boolean', command: 'send', describe: 'send: send to everyone' },
  { name: 'help', type: 'boolean', describe: 'show this help (also -h)' },
  { name: 'version', type: 'boolean', describe: 'show the version number' },
];

const USAGE = [
  'parley [options]                      chat on screen (asks for server and nickname if missing)',
  'parley online|files [options]         print who is online / the files on the server',
  'parley send --to <nick> <text>        send a private message',
  'parley send --all <text>              send a message to everyone',
  'parley download <file>                download a file (progress on stderr)',
  '',
  'Options can also be set in the environment: PARLEY_CLIENT_HOST, PARLEY_CLIENT_PORT,',
  'PARLEY_CLIENT_NICK, PARLEY_CLIENT_DOWNLOAD_DIR, PARLEY_CLIENT_BELL (0 = off),',
  'PARLEY_CLIENT_LOG_FILE, PARLEY_CLIENT_TLS (1 = on), PARLEY_CLIENT_CA, PARLEY_CLIENT_FINGERPRINT,',
  'PARLEY_CLIENT_PASSWORD_FILE (a path, never the password);',
  'also PARLEY_CLIENT_LOG_LEVEL (default debug) and PARLEY_CLIENT_TERM (default xterm-256color).',
  "PARLEY_HOST/PARLEY_PORT are the server's.",
];

const COMMAND_HELP: readonly (readonly [string, string])[] = [
  ['parley online', 'print who is online, one per line'],
  ['parley files', 'print the files on the server: name<TAB>size in bytes'],
  ['parley send [text..]', 'send a message, then leave'],
  ['parley download <file>', 'download a file into --download-dir; exit code 0 only when its SHA-256 is verified'],
];

const EPILOGUE = [
  'Exit codes: 0 done, 1 failed, 2 usage, 3 (--tls) the certificate is not trusted,',
  '4 (--tls) the certificate differs from the one pinned in the known-servers file,',
  '5 the nickname is registered and the login failed: no --password-file, a wrong password,',
  'too many tries (wait), or the server takes passwords only over TLS (use --tls).',
  "The chat screen asks for a registered nickname's password itself (masked) and never stores it.",
  'A self-signed server is pinned on first use on the chat screen (parley --tls), or given with',
  '--fingerprint; pins are in $XDG_CONFIG_HOME/parley/known-servers (~/.config/parley/…).',
];

/** Splits `text` into lines of at most `width` characters at spaces (a longer word gets a line of its own). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/**
 * Two columns: `left` padded to `indent`, `right` wrapped to the rest of
 * `width` and indented under itself; a row's `tail` (its default) is never
 * split, and goes on a line of its own when the last one has no room for it.
 */
function columns(rows: readonly (readonly [left: string, right: string, tail?: string])[], width: number): string[] {
  const indent = Math.max(...rows.map(([l]) => l.length)) + 4;
  const room = Math.max(20, width - indent);
  const out: string[] = [];
  for (const [left, right, tail] of rows) {
    const wrapped = wrapWords(right, room);
    if (tail !== undefined) {
      const last = wrapped.at(-1) ?? '';
      if (last.length + 1 + tail.length <= room) wrapped[wrapped.length - 1] = `${last} ${tail}`;
      else wrapped.push(tail);
    }
    const first = left.length + 2 < indent ? `  ${left.padEnd(indent - 2)}${wrapped[0] ?? ''}` : `  ${left}`;
    out.push(first);
    for (const l of left.length + 2 < indent ? wrapped.slice(1) : wrapped) out.push(`${' '.repeat(indent)}${l}`);
  }
  return out;
}

/** The text `parley --help` prints, wrapped to `width` columns. */
export function helpText(width = Math.min(110, process.stdout.columns || 100)): string {
  const options = OPTION_HELP.map((o): [string, string, string?] => {
    const left = o.type === 'boolean' ? `--${o.name}` : `--${o.name} <${o.type}>`;
    return o.default === undefined ? [left, o.describe] : [left, o.describe, `[default: ${o.default}]`];
  });
  return [...USAGE, '', 'Commands:', ...columns(COMMAND_HELP, width), '', 'Options:', ...columns(options, width), '', ...EPILOGUE, ''].join('\n');
}

const PARSE_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  tls: { type: 'boolean' },
  ca: { type: 'string' },
  fingerprint: { type: 'string' },
  nick: { type: 'string' },
  'password-file': { type: 'string' },
  'download-dir': { type: 'string' },
  bell: { type: 'boolean' },
  'no-bell': { type: 'boolean' },
  'log-file': { type: 'string' },
  timeout: { type: 'string' },
  to: { type: 'string' },
  all: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

function parseNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = text.trim() === '' ? Number.NaN : Number(text);
  if (Number.isNaN(n)) throw new UsageError(`--${name} must be a number (got "${text}")`);
  return n;
}

/**
 * Parses the command line. Returns undefined when --help or --version was
 * printed (to `out`); throws a UsageError (or parseArgs' own TypeError for an
 * unknown option or a missing value) on a usage error.
 */
export async function parseClientArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  out: NodeJS.WritableStream = process.stdout,
): Promise<ClientArgs | undefined> {
  const e = fromEnv(env);
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: PARSE_OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    out.write(helpText());
    return undefined;
  }
  if (v.version) {
    out.write(`${VERSION}\n`);
    return undefined;
  }
  const first = positionals[0];
  let command: ClientArgs['command'] = 'chat';
  if (first !== undefined) {
    if (!(COMMANDS as readonly string[]).includes(first)) throw new UsageError(`unknown command "${first}" (online, files, send or download)`);
    command = first as ClientArgs['command'];
  }
  const rest = positionals.slice(1);
  if ((command === 'chat' || command === 'online' || command === 'files') && rest.length > 0) {
    throw new UsageError(`${command === 'chat' ? 'parley' : command} takes no arguments (got "${rest.join(' ')}")`);
  }
  if (command !== 'send' && (v.to !== undefined || v.all !== undefined)) throw new UsageError('--to and --all are options of send');
  if (command === 'send') {
    if (!v.to === !v.all) throw new UsageError('send needs exactly one of --to <nick> or --all');
    if (rest.join(' ').trim() === '') throw new UsageError('send needs the text of the message');
  }
  if (command === 'download' && rest.length !== 1) throw new UsageError(`download needs exactly one file name (got ${rest.length})`);

  const port = parseNumber('port', v.port) ?? e.port;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new UsageError(`--port must be 1-65535 (got ${String(port)})`);
  const fingerprintText = v.fingerprint ?? e.fingerprint;
  const fingerprint = fingerprintText === undefined ? undefined : parseFingerprint(fingerprintText);
  if (fingerprintText !== undefined && fingerprint === undefined) {
    throw new UsageError(`--fingerprint must be a SHA-256 fingerprint: SHA256: and 64 hex digits, colons optional (got "${fingerprintText}")`);
  }
  const ca = v.ca ?? e.ca;
  if (ca !== undefined && ca.trim() === '') throw new UsageError('--ca needs a file');
  const passwordFile = v['password-file'] ?? e.passwordFile;
  if (passwordFile !== undefined && passwordFile.trim() === '') throw new UsageError('--password-file needs a file');
  const timeout = parseNumber('timeout', v.timeout) ?? 15;
  if (!(timeout > 0)) throw new UsageError('--timeout must be a positive number of seconds');

  // --host tls://name[:port] is --tls --host name [--port port].
  let host = v.host ?? e.host;
  let hostPort: number | undefined;
  let tlsScheme = false;
  if (host !== undefined && /^\s*tls:\/\//iu.test(host)) {
    const parsedHost = parseServer(host, port ?? DEFAULT_TLS_PORT);
    if (typeof parsedHost === 'string') throw new UsageError(`--host: ${parsedHost}`);
    if (port !== undefined && parsedHost.port !== port) throw new UsageError(`--host ${host} and --port ${port} name different ports`);
    host = parsedHost.host;
    hostPort = parsedHost.port;
    tlsScheme = true;
  }
  const tls = Boolean(v.tls ?? e.tls) || tlsScheme || ca !== undefined || fingerprint !== undefined;
  return {
    command,
    host,
    port: hostPort ?? port ?? (tls ? DEFAULT_TLS_PORT : DEFAULT_PORT),
    portGiven: port !== undefined || hostPort !== undefined,
    tls,
    ca,
    fingerprint,
    nick: v.nick ?? e.nick,
    passwordFile,
    downloadDir: v['download-dir'] ?? e.downloadDir ?? '.',
    bell: v['no-bell'] ? false : (v.bell ?? e.bell ?? true),
    logFile: v['log-file'] ?? e.logFile,
    timeout,
    to: v.to,
    all: Boolean(v.all),
    text: rest.join(' '),
    file: command === 'download' ? (rest[0] ?? '') : '',
  };
}
