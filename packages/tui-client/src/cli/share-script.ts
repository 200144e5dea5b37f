import type { ServerEvent } from '@parley/protocol';
import { uploadFile, type UploadOptions, type UploadResult } from '@parley/udp-transfer';
import { formatBytes, formatEta, formatRate, percent } from '../model/format.js';
import type { Connection } from '../net/connection.js';
import { terminalSafe } from '../text/terminal-safe.js';
import { describeLocalFile } from '../transfer/uploads.js';
import type { ClientArgs } from './args.js';

/** Sends one file over UDP (replaceable in tests). */
export type UploadFn = (options: UploadOptions) => Promise<UploadResult>;

/** What the scripted share needs from `runScript`. */
export interface ShareScriptContext {
  readonly args: ClientArgs;
  readonly host: string;
  readonly conn: Connection;
  readonly events: ServerEvent[];
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly until: <T>(pick: () => T | undefined, what: string) => Promise<T>;
  readonly fail: (message: string) => Error;
  readonly upload?: UploadFn;
}

/**
 * `parley share <path> [--to nick]`: hashes the file, sends `share`, uploads it when
 * the server says `upload` (progress on stderr), and exits 0 only when the server
 * announces it as `shared` (its SHA-256 checked there). Prints `<name>\t<sha256>`,
 * the name the server gave it (a clash gets a numbered suffix).
 */
export async function scriptedShare(c: ShareScriptContext): Promise<void> {
  const { args, conn, events, stderr } = c;
  let local: Awaited<ReturnType<typeof describeLocalFile>>;
  try {
    local = await describeLocalFile(args.file);
  } catch (err) {
    throw c.fail((err as Error).message);
  }
  let next = events.length;
  conn.send({ type: 'share', name: local.name, size: local.size, sha256: local.sha256, ...(args.to !== undefined ? { to: args.to } : {}) });
  const ticket = await c.until((): ServerEvent | undefined => {
    for (; next < events.length; next++) {
      const e = events[next] as ServerEvent;
      if (e.type === 'error' || e.type === 'bye') return e;
      if (e.type === 'upload' && e.sha256 === local.sha256) return e;
    }
    return undefined;
  }, 'the server to accept the share');
  if (ticket.type !== 'upload') throw c.fail(ticket.type === 'error' || ticket.type === 'bye' ? `${ticket.text} [${ticket.code}]` : 'unexpected answer');
  const tty = Boolean(stderr.isTTY);
  stderr.write(
    `sharing ${terminalSafe(local.name)} (${formatBytes(local.size)})${args.to !== undefined ? ` with ${terminalSafe(args.to)}` : ' with everyone'} through ${c.host} udp ${ticket.udpPort}${ticket.key !== undefined ? ', every packet sealed (AEAD)' : ''}\n`,
  );
  let lastPrint = 0;
  try {
    await (c.upload ?? uploadFile)({
      host: c.host,
      ticket,
      path: local.path,
      progressIntervalMs: tty ? 100 : 1000,
      onProgress: (p) => {
        const now = Date.now();
        if (!tty && now - lastPrint < 1000 && p.bytes < p.total) return;
        lastPrint = now;
        const line = `${terminalSafe(local.name)}: ${percent(p.bytes, p.total)}% of ${formatBytes(p.total)}  ${formatRate(p.rateBytesPerSec)}  ETA ${formatEta(p.etaSec)}`;
        stderr.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
      },
    });
  } catch (err) {
    if (tty) stderr.write('\n');
    // The server's own error line (e.g. SHARE_NO_SPACE) says more than the UDP reason.
    const e = events.slice(next).find((x) => x.type === 'error');
    throw c.fail(e?.type === 'error' ? `${e.text} [${e.code}]` : (err as Error).message);
  }
  if (tty) stderr.write('\n');
  const done = await c.until((): ServerEvent | undefined => {
    for (; next < events.length; next++) {
      const e = events[next] as ServerEvent;
      if (e.type === 'error' || e.type === 'bye') return e;
      if (e.type === 'shared' && e.size === local.size && (conn.nick === undefined || e.from === conn.nick)) return e;
    }
    return undefined;
  }, 'the server to verify the file');
  if (done.type !== 'shared') throw c.fail(done.type === 'error' || done.type === 'bye' ? `${done.text} [${done.code}]` : 'unexpected answer');
  stderr.write(`shared ${terminalSafe(done.name)} (${formatBytes(local.size)}), SHA-256 verified by the server\n`);
  c.stdout.write(`${terminalSafe(done.name)}\t${local.sha256}\n`);
  await conn.quit();
}
