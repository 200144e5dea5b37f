import { resolve } from 'node:path';
import { sameNick, type Command, type ServerEvent } from '@parley/protocol';
import { formatBytes, formatEta, formatRate, percent } from '../model/format.js';
import { TransferTable } from '../model/transfers.js';
import { Connection, type TlsSettings } from '../net/connection.js';
import { knownServersPath } from '../net/known-servers.js';
import { CaFileError, readCaFile, tlsSettings } from '../net/tls-settings.js';
import { TRUST_REFUSALS, type TrustDecision } from '../net/trust.js';
import { DownloadManager, type DownloadFn, type Offer } from '../transfer/downloads.js';
import { terminalSafe } from '../text/terminal-safe.js';
import type { ClientArgs } from './args.js';
import { EXIT_CERT_CHANGED, EXIT_FAILED, EXIT_LOGIN, EXIT_OK, EXIT_UNTRUSTED, EXIT_USAGE } from './exit-codes.js';
import { PasswordFileError, readPasswordFile } from './password-file.js';

export { EXIT_CERT_CHANGED, EXIT_FAILED, EXIT_LOGIN, EXIT_OK, EXIT_UNTRUSTED, EXIT_USAGE } from './exit-codes.js';

export interface ScriptIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly download?: DownloadFn;
}

export class ScriptFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILED,
  ) {
    super(message);
  }
}

/** The exit code for a certificate that was not trusted. */
export function untrustedExitCode(d: Exclude<TrustDecision, { kind: 'trusted' }>): number {
  return d.kind === 'refused' && d.code === TRUST_REFUSALS.FINGERPRINT_CHANGED ? EXIT_CERT_CHANGED : EXIT_UNTRUSTED;
}

/**
 * One scripted session, without the screen: connect, join, do one thing,
 * leave. Resolves with the exit code (0 only when the thing was done).
 */
export async function runScript(args: ClientArgs, io: ScriptIO): Promise<number> {
  const host = args.host && args.host.trim() !== '' ? args.host.trim() : '127.0.0.1';
  // A download starts loading the UDP receiver now, while the chat connection is made.
  const download = args.command === 'download' ? (io.download ?? lazyDownload()) : undefined;
  // A name to be told apart by, not a secret: Math.random spares the command loading node:crypto (≈ 5 ms).
  const nick =
    args.nick ??
    `cli-${Math.floor(Math.random() * 0x1000000)
      .toString(16)
      .padStart(6, '0')}`;
  const say = (s: string): void => void io.stderr.write(`parley: ${terminalSafe(s)}\n`);
  const events: ServerEvent[] = [];
  const waiters = new Set<() => void>();
  let closedWhy = '';
  let refused = '';
  let untrusted: Exclude<TrustDecision, { kind: 'trusted' }> | undefined;
  /** Why logging in to a registered nickname failed. */
  let loginFailed = '';
  let tls: TlsSettings | undefined;
  let password: string | undefined;
  if (args.passwordFile !== undefined) {
    try {
      password = await readPasswordFile(args.passwordFile, (l) => say(`warning: ${l}`));
    } catch (err) {
      if (!(err instanceof PasswordFileError)) throw err;
      say(err.message);
      return EXIT_USAGE;
    }
  }
  if (args.tls) {
    let ca: Buffer | undefined;
    try {
      ca = args.ca === undefined ? undefined : await readCaFile(args.ca);
    } catch (err) {
      if (!(err instanceof CaFileError)) throw err;
      say(err.message);
      return EXIT_USAGE;
    }
    tls = tlsSettings({
      host,
      port: args.port,
      ca,
      fingerprint: args.fingerprint,
      interactive: false,
      knownFile: knownServersPath(),
      onFileProblems: (lines) => {
        for (const l of lines) say(`warning: ${l}`);
      },
    });
  }
  const conn = new Connection(
    { host, port: args.port, nick, reconnect: false, connectTimeoutMs: args.timeout * 1000, tls, ...(password !== undefined ? { password } : {}) },
    {
      onPasswordNeeded: (registered, refusal) => {
        loginFailed =
          refusal === undefined
            ? `${registered} is a registered nickname: give its password with --password-file FILE (or choose another --nick)`
            : refusal.code === 'LOGIN_FAILED'
              ? `wrong password for ${registered} (from --password-file) [LOGIN_FAILED]`
              : refusal.code === 'PASSWORD_NEEDS_TLS'
                ? `${refusal.text} [PASSWORD_NEEDS_TLS]: connect with --tls to log in as ${registered}`
                : `${refusal.text} [${refusal.code}]`;
        for (const w of waiters) w();
      },
      onUntrusted: (d) => {
        untrusted = d;
        for (const w of waiters) w();
      },
      onEvent: (e) => {
        events.push(e);
        for (const w of waiters) w();
      },
      onState: (s, detail) => {
        if (s === 'closed') closedWhy = detail;
        for (const w of waiters) w();
      },
      onNickRefused: (_code, text) => {
        refused = text;
        for (const w of waiters) w();
      },
    },
  );
  const deadline = Date.now() + args.timeout * 1000;
  /** Waits for an event matching `pick` (looking at events from `from` on). */
  const until = <T>(pick: () => T | undefined, what: string): Promise<T> =>
    new Promise<T>((resolveWait, reject) => {
      const check = (): void => {
        const found = pick();
        if (found !== undefined) return done(() => resolveWait(found));
        if (refused) return done(() => reject(new ScriptFailure(`nickname refused: ${refused}`)));
        if (loginFailed) return done(() => reject(new ScriptFailure(loginFailed, EXIT_LOGIN)));
        if (untrusted) {
          const d = untrusted;
          return done(() => reject(new ScriptFailure(d.kind === 'refused' ? d.lines.join('\n') : 'the certificate is not trusted', untrustedExitCode(d))));
        }
        if (conn.state === 'closed') return done(() => reject(new ScriptFailure(`cannot talk to ${host}:${args.port}: ${closedWhy || 'connection closed'}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new ScriptFailure(`timed out after ${args.timeout} s waiting for ${what}`))),
        Math.max(0, deadline - Date.now()),
      );
      const done = (f: () => void): void => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      check();
    });
  const firstError = (from: number): ServerEvent | undefined => events.slice(from).find((e) => e.type === 'error' || e.type === 'bye');
  const errorText = (e: ServerEvent): string => (e.type === 'error' || e.type === 'bye' ? `${e.text} [${e.code}]` : '');

  /** Sends `command` then `exit`, and fails if the server answered with an error before its goodbye. */
  const sendAndLeave = async (command: Command): Promise<void> => {
    const from = events.length;
    conn.send(command);
    await conn.quit(args.timeout * 1000);
    const err = events.slice(from).find((e) => e.type === 'error' || (e.type === 'bye' && e.code !== 'QUIT'));
    if (err) throw new ScriptFailure(errorText(err));
  };

  try {
    conn.start();
    await until(() => (conn.state === 'online' ? true : undefined), 'the welcome');
    const me = conn.nick ?? nick;
    switch (args.command) {
      case 'online': {
        const online = await until(() => events.find((e) => e.type === 'online'), 'the online list');
        for (const n of online.nicks) if (!sameNick(n, me)) io.stdout.write(`${terminalSafe(n)}\n`);
        await conn.quit();
        return EXIT_OK;
      }
      case 'files': {
        const from = events.length;
        conn.send({ type: 'files' });
        const answer = await until(() => events.slice(from).find((e) => e.type === 'files') ?? firstError(from), 'the files list');
        if (answer.type !== 'files') throw new ScriptFailure(errorText(answer));
        for (const f of answer.files) io.stdout.write(`${terminalSafe(f.name).replace(/\t/gu, ' ')}\t${f.size}\n`);
        await conn.quit();
        return EXIT_OK;
      }
      case 'send': {
        if (args.all) {
          await sendAndLeave({ type: 'broadcast', text: args.text });
          return EXIT_OK;
        }
        const online = await until(() => events.find((e) => e.type === 'online'), 'the online list');
        const to = online.nicks.find((n) => sameNick(n, args.to ?? ''));
        if (!to) throw new ScriptFailure(`${args.to ?? ''} is not online; nothing was sent`);
        await sendAndLeave({ type: 'private', to, text: args.text });
        return EXIT_OK;
      }
      case 'download':
        return await scriptedDownload(args, io, download ?? lazyDownload(), host, conn, events, until, errorText);
      case 'share': {
        // Loaded only for a share: it brings the UDP transfer (dgram), which online/files/send never need.
        const { scriptedShare } = await import('./share-script.js');
        await scriptedShare({ args, host, conn, events, stdout: io.stdout, stderr: io.stderr, until, fail: (m) => new ScriptFailure(m) });
        return EXIT_OK;
      }
      case 'chat':
        throw new ScriptFailure('internal: chat is not a scripted command');
    }
  } catch (err) {
    conn.close();
    if (err instanceof ScriptFailure) {
      for (const line of err.message.split('\n')) say(line);
      return err.exitCode;
    }
    throw err;
  }
}

/**
 * The UDP receiver (dgram, dns, the AEAD), loaded only by `parley download`:
 * the other commands start without it. Started before the chat connection is
 * made, so it loads while the server answers.
 */
function lazyDownload(): DownloadFn {
  const loading = import('@parley/udp-transfer');
  loading.catch(() => {}); // reported by the download that awaits it
  return async (o) => (await loading).downloadFile(o as Parameters<typeof import('@parley/udp-transfer').downloadFile>[0]);
}

async function scriptedDownload(
  args: ClientArgs,
  io: ScriptIO,
  download: DownloadFn,
  host: string,
  conn: Connection,
  events: ServerEvent[],
  until: <T>(pick: () => T | undefined, what: string) => Promise<T>,
  errorText: (e: ServerEvent) => string,
): Promise<number> {
  const tty = Boolean(io.stderr.isTTY);
  let lastPrint = 0;
  const transfers = new TransferTable();
  let offer: Offer | undefined;
  let result: { path: string; sha256: string; bytes: number } | undefined;
  let failure = '';
  const manager = new DownloadManager({
    dir: resolve(args.downloadDir),
    host,
    transfers,
    download,
    onChange: () => {
      const t = offer && transfers.get(offer.id);
      if (t?.state !== 'active') return;
      const now = Date.now();
      if (!tty && now - lastPrint < 1000 && t.bytes < t.size) return;
      lastPrint = now;
      const line = `${terminalSafe(t.name)}: ${percent(t.bytes, t.size)}% of ${formatBytes(t.size)}  ${formatRate(t.rateBytesPerSec)}  ETA ${formatEta(t.etaSec)}`;
      io.stderr.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
    },
    onDone: (r) => (result = r),
    onFail: (r) => (failure = r.error),
  });
  const refusal = manager.request(args.file);
  if (refusal) throw new ScriptFailure(refusal);
  let next = events.length;
  conn.send({ type: 'download', file: args.file });
  // The answer is an offer we asked for, or an error; any other offer is shown and ignored.
  type Answer = { readonly kind: 'error'; readonly event: ServerEvent } | { readonly kind: 'offer'; readonly offer: Offer; readonly done: Promise<void> };
  const answer = await until((): Answer | undefined => {
    for (; next < events.length; next++) {
      const e = events[next] as ServerEvent;
      if (e.type === 'error' || e.type === 'bye') return { kind: 'error', event: e };
      if (e.type !== 'offer') continue;
      const outcome = manager.accept(e);
      if (outcome.ok) return { kind: 'offer', offer: e, done: outcome.done };
      io.stderr.write(`parley: warning: ignored an offer of "${terminalSafe(e.name)}" from the server: ${outcome.reason}\n`);
    }
    return undefined;
  }, 'the download offer');
  if (answer.kind === 'error') throw new ScriptFailure(errorText(answer.event));
  offer = answer.offer;
  io.stderr.write(
    `downloading ${terminalSafe(offer.name)} (${formatBytes(offer.size)}) from ${host} udp ${offer.udpPort}${offer.key !== undefined ? ', every packet sealed (AEAD)' : ''}\n`,
  );
  await answer.done;
  if (tty) io.stderr.write('\n');
  await conn.quit();
  if (!result) throw new ScriptFailure(`download of ${offer.name} failed: ${failure}`);
  const done = result as { path: string; sha256: string; bytes: number };
  io.stderr.write(`saved ${terminalSafe(done.path)} (${formatBytes(done.bytes)}), SHA-256 verified\n`);
  io.stdout.write(`${terminalSafe(done.path)}\t${done.sha256}\n`);
  return EXIT_OK;
}
