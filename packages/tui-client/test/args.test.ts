import { describe, expect, it } from 'vitest';
import { helpText, parseClientArgs, UsageError } from '../src/cli/args.js';

const sink = { write: () => true } as unknown as NodeJS.WritableStream;
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseClientArgs(argv, env, sink);

describe('parley command line (node:util parseArgs)', () => {
  it('reads a command, its arguments and options in any order', async () => {
    await expect(parse(['send', 'hello', '--to', 'bob', 'there', '--port', '6000'])).resolves.toMatchObject({
      command: 'send',
      to: 'bob',
      text: 'hello there',
      port: 6000,
      portGiven: true,
    });
    await expect(parse(['--host=example.org', 'download', 'a b.txt'])).resolves.toMatchObject({ command: 'download', host: 'example.org', file: 'a b.txt' });
    await expect(parse([])).resolves.toMatchObject({ command: 'chat', port: 55000, portGiven: false, bell: true, timeout: 15, downloadDir: '.' });
  });

  it('takes defaults from PARLEY_CLIENT_* and lets flags win', async () => {
    const env = { PARLEY_CLIENT_PORT: '7000', PARLEY_CLIENT_BELL: 'off', PARLEY_CLIENT_TLS: '1', PARLEY_CLIENT_NICK: 'envy' };
    await expect(parse(['online'], env)).resolves.toMatchObject({ port: 7000, bell: false, tls: true, nick: 'envy' });
    await expect(parse(['online', '--bell', '--nick', 'flag'], env)).resolves.toMatchObject({ bell: true, nick: 'flag' });
    await expect(parse(['--no-bell'])).resolves.toMatchObject({ bell: false });
  });

  it('reads --host tls://name:port as TLS to that port', async () => {
    await expect(parse(['online', '--host', 'tls://chat.example:7443'])).resolves.toMatchObject({ host: 'chat.example', port: 7443, tls: true });
    await expect(parse(['online', '--host', 'tls://chat.example:7443', '--port', '1'])).rejects.toThrow(/name different ports/u);
  });

  it.each([
    [['--frobnicate'], /Unknown option '--frobnicate'/u],
    [['--port'], /--port/u],
    [['--port', 'x'], /--port must be a number/u],
    [['--port', '70000'], /--port must be 1-65535 \(got 70000\)/u],
    [['--timeout', '0'], /--timeout must be a positive number/u],
    [['send', 'hi'], /exactly one of --to <nick> or --all/u],
    [['send', '--all'], /send needs the text/u],
    [['download'], /download needs exactly one file name/u],
    [['online', 'extra'], /online takes no arguments/u],
    [['frob'], /unknown command "frob"/u],
    [['online', '--to', 'bob'], /--to and --all are options of send/u],
    [['--fingerprint', 'nope'], /--fingerprint must be a SHA-256 fingerprint/u],
    [['--ca', ' '], /--ca needs a file/u],
  ])('refuses %j with a usage error', async (argv, message) => {
    const p = parse(argv);
    await expect(p).rejects.toBeInstanceOf(UsageError);
    await expect(p).rejects.toThrow(message);
  });

  it('returns nothing for --help, -h and --version (they print instead)', async () => {
    for (const a of [['--help'], ['-h'], ['online', '--help'], ['--version']]) await expect(parse(a)).resolves.toBeUndefined();
  });

  it('wraps the help to the width asked for, never splitting a default', () => {
    for (const width of [60, 80, 100, 110]) {
      const text = helpText(width);
      const optionLines = text.split('\n').filter((l) => l.startsWith('  '));
      expect(optionLines.filter((l) => l.length > width && !l.includes('[default:'))).toEqual([]);
      expect(text).toMatch(/\[default: \$PARLEY_CLIENT_PORT or 55000 \(55443 with --tls\)\]/u);
    }
  });
});
