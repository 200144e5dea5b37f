import yargs from 'yargs';

export const DEFAULT_PORT = 55000;

export interface ClientArgs {
  readonly command: 'chat' | 'online' | 'files' | 'send' | 'download';
  readonly host: string | undefined;
  readonly port: number;
  readonly nick: string | undefined;
  readonly downloadDir: string;
  readonly bell: boolean;
  readonly logFile: string | undefined;
  readonly timeout: number;
  readonly to: string | undefined;
  readonly all: boolean;
  readonly text: string;
  readonly file: string;
}

/**
 * The PARLEY_* variables the client reads. Only these: yargs' own `.env()`
 * would turn any PARLEY_* variable (PARLEY_TEST_REPORT_DIR, …) into an unknown
 * option under `.strict()`.
 */
function fromEnv(env: NodeJS.ProcessEnv) {
  const port = env.PARLEY_PORT !== undefined && env.PARLEY_PORT !== '' ? Number(env.PARLEY_PORT) : undefined;
  const bell = env.PARLEY_BELL === undefined ? undefined : !/^(0|false|no|off)$/iu.test(env.PARLEY_BELL);
  return { host: env.PARLEY_HOST || undefined, port, nick: env.PARLEY_NICK || undefined, downloadDir: env.PARLEY_DOWNLOAD_DIR || undefined, bell };
}

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
        '',
        'Options can also be set in the environment: PARLEY_HOST, PARLEY_PORT, PARLEY_NICK, PARLEY_DOWNLOAD_DIR, PARLEY_BELL.',
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
    .option('host', { type: 'string', default: e.host, defaultDescription: '$PARLEY_HOST', describe: 'server address (on screen: asked for when missing; blank = this machine)' })
    .option('port', { type: 'number', default: e.port ?? DEFAULT_PORT, defaultDescription: `$PARLEY_PORT or ${DEFAULT_PORT}`, describe: 'server TCP port' })
    .option('nick', { type: 'string', default: e.nick, defaultDescription: '$PARLEY_NICK', describe: 'nickname (on screen: asked for when missing)' })
    .option('download-dir', { type: 'string', default: e.downloadDir ?? '.', defaultDescription: '$PARLEY_DOWNLOAD_DIR or .', describe: 'folder to save downloads in' })
    .option('bell', { type: 'boolean', default: e.bell ?? true, defaultDescription: '$PARLEY_BELL or true', describe: 'ring the terminal bell on a private message or a mention (--no-bell: off)' })
    .option('log-file', { type: 'string', describe: 'write a debug log here (the screen is never used for logs)' })
    .option('timeout', { type: 'number', default: 15, describe: 'scripted commands: seconds to wait for the server' })
    .check((a) => {
      if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535) throw new Error(`--port must be 1-65535 (got ${String(a.port)})`);
      if (!(a.timeout > 0)) throw new Error('--timeout must be a positive number of seconds');
      return true;
    })
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    });
}

/** Parses the command line. Returns undefined when --help was printed. */
export async function parseClientArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<ClientArgs | undefined> {
  const a = await parser(argv, env).parseAsync();
  if (a.help) return undefined;
  const first = String(a._[0] ?? 'chat');
  const command = (['online', 'files', 'send', 'download'].includes(first) ? first : 'chat') as ClientArgs['command'];
  const text = (a.text as string[] | undefined)?.join(' ') ?? '';
  return {
    command,
    host: a.host,
    port: a.port,
    nick: a.nick,
    downloadDir: a['download-dir'],
    bell: a.bell,
    logFile: a['log-file'],
    timeout: a.timeout,
    to: a.to as string | undefined,
    all: Boolean(a.all),
    text,
    file: String(a.file ?? ''),
  };
}
