import { protocolError, type ParleyProtocolError } from './errors.js';
import { checkNickname } from './nickname.js';
import { decodeArg, encodeArg } from './text.js';

/**
 * Sharing files (PROTOCOL.md §7): a user offers a file to everyone or to one
 * user. `share,<name>,<size>,<sha256>[,<nick>]` asks the server for an upload
 * slot; the server answers with an `upload` event (a one-time token and its UDP
 * port) and, once the file has arrived whole and its SHA-256 matches, announces
 * it with `shared`. `unshare,<name>` removes one of your shared files.
 */
export type ShareCommand =
  | { readonly type: 'share'; readonly name: string; readonly size: number; readonly sha256: string; readonly to?: string }
  | { readonly type: 'unshare'; readonly name: string };

export const SHARE_WORDS = ['share', 'unshare'] as const;

export const SHARE_USAGE = 'share,<name>,<size>,<sha256>[,<nick>]';

type Parsed = { readonly ok: true; readonly command: ShareCommand } | { readonly ok: false; readonly error: ParleyProtocolError };

const SHA256 = /^[0-9a-fA-F]{64}$/u;

function bad(why: string, usage: string): Parsed {
  return { ok: false, error: protocolError('BAD_ARGUMENTS', `${why}: ${usage}`) };
}

/** True when `word` (lower case) starts a share command. */
export function isShareWord(word: string): word is (typeof SHARE_WORDS)[number] {
  return (SHARE_WORDS as readonly string[]).includes(word);
}

/**
 * Parses the part after `share,` / `unshare,`. A file name may contain commas, so
 * `share` is read from the right: the SHA-256 (64 hex digits) is the last field,
 * or the one before a nickname; the size is before it; the name is everything else.
 */
export function parseShareCommand(word: (typeof SHARE_WORDS)[number], rest: string | undefined): Parsed {
  if (word === 'unshare') {
    const name = (rest ?? '').trim();
    if (name.length === 0) return bad('unshare needs a file name', 'unshare,<name>');
    return { ok: true, command: { type: 'unshare', name } };
  }
  const parts = (rest ?? '').split(',');
  let to: string | undefined;
  let shaAt = parts.length - 1;
  if (!SHA256.test((parts[shaAt] ?? '').trim()) && shaAt >= 1 && SHA256.test((parts[shaAt - 1] ?? '').trim())) {
    to = (parts[shaAt] ?? '').trim();
    shaAt--;
  }
  const sha256 = (parts[shaAt] ?? '').trim();
  if (!SHA256.test(sha256)) return bad('share needs the file\u2019s SHA-256 in 64 hex digits', SHARE_USAGE);
  if (shaAt < 2) return bad('share needs a name, a size and a SHA-256', SHARE_USAGE);
  const sizeText = (parts[shaAt - 1] ?? '').trim();
  if (!/^(?:0|[1-9][0-9]{0,15})$/u.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) {
    return bad(`"${sizeText.slice(0, 20)}" is not a size in bytes`, SHARE_USAGE);
  }
  const name = parts
    .slice(0, shaAt - 1)
    .join(',')
    .trim();
  if (name.length === 0) return bad('share needs a file name', SHARE_USAGE);
  if (to !== undefined) {
    const nick = checkNickname(to);
    if (!nick.ok) return bad(`"${to.slice(0, 40)}" is not a nickname`, SHARE_USAGE);
    to = nick.nick;
  }
  return { ok: true, command: { type: 'share', name, size: Number(sizeText), sha256: sha256.toLowerCase(), ...(to !== undefined ? { to } : {}) } };
}

export function encodeShareCommand(command: ShareCommand): string {
  if (command.type === 'unshare') return `unshare,${command.name}`;
  return `share,${command.name},${command.size},${command.sha256}${command.to !== undefined ? `,${command.to}` : ''}`;
}

/** Server → client events of sharing. */
export type ShareEvent =
  /**
   * Answer to `share`: send the file to `udpPort` (on the host the client chats
   * with) with the upload exchange of PROTOCOL.md §7.2, presenting `token`. With a
   * `key` (TLS sessions), every UDP packet of the upload is sealed (§5.7).
   */
  | {
      readonly type: 'upload';
      readonly id: number;
      readonly name: string;
      readonly size: number;
      readonly sha256: string;
      readonly token: string;
      readonly udpPort: number;
      readonly key?: string;
    }
  /** A file arrived whole and verified: `from` shared `name` with everyone, or with `to` only. */
  | { readonly type: 'shared'; readonly from: string; readonly name: string; readonly size: number; readonly to?: string }
  /** A shared file was removed (by its owner, an operator, or because it expired). */
  | { readonly type: 'unshared'; readonly name: string; readonly reason: UnshareReason };

export const UNSHARE_REASONS = ['removed', 'expired', 'operator'] as const;
export type UnshareReason = (typeof UNSHARE_REASONS)[number];

export function encodeShareEvent(event: ShareEvent): string {
  switch (event.type) {
    case 'upload':
      return `upload ${event.id} ${encodeArg(event.name)} ${event.size} ${event.sha256} ${event.token} ${event.udpPort}${event.key !== undefined ? ` ${event.key}` : ''}`;
    case 'shared':
      return `shared ${event.from} ${encodeArg(event.name)} ${event.size}${event.to !== undefined ? ` ${event.to}` : ''}`;
    case 'unshared':
      return `unshared ${encodeArg(event.name)} ${event.reason}`;
  }
}

/**
 * Decodes the arguments of a share event (`kind` is upload, shared or unshared).
 * `bad` throws BAD_EVENT with the reason; `count` reads a non-negative integer.
 */
export function decodeShareEvent(
  kind: 'upload' | 'shared' | 'unshared',
  args: readonly string[],
  trailing: string | undefined,
  bad: (why: string) => never,
  count: (value: string | undefined) => number,
): ShareEvent {
  if (trailing !== undefined) bad('unexpected text');
  const arg = (i: number): string => {
    const v = args[i];
    if (v === undefined || v.length === 0) bad('missing argument');
    return v;
  };
  switch (kind) {
    case 'upload': {
      if (args.length !== 6 && args.length !== 7) bad(`expected 6 or 7 arguments, got ${args.length}`);
      const id = count(args[0]);
      if (id > 0xffffffff) bad('transfer id out of range');
      const sha256 = arg(3);
      const token = arg(4);
      if (!/^[0-9a-f]{64}$/u.test(sha256)) bad('sha256 must be 64 hex digits');
      if (!/^[0-9a-f]{32}$/u.test(token)) bad('token must be 32 hex digits');
      const udpPort = count(args[5]);
      if (udpPort < 1 || udpPort > 65535) bad('udp port out of range');
      const upload = { type: 'upload', id, name: decodeArg(arg(1)), size: count(args[2]), sha256, token, udpPort } as const;
      if (args.length === 6) return upload;
      const key = arg(6);
      if (!/^[0-9a-f]{64}$/u.test(key)) bad('key must be 64 hex digits');
      return { ...upload, key };
    }
    case 'shared': {
      if (args.length !== 3 && args.length !== 4) bad(`expected 3 or 4 arguments, got ${args.length}`);
      const shared = { type: 'shared', from: arg(0), name: decodeArg(arg(1)), size: count(args[2]) } as const;
      return args.length === 4 ? { ...shared, to: arg(3) } : shared;
    }
    case 'unshared': {
      if (args.length !== 2) bad(`expected 2 arguments, got ${args.length}`);
      const reason = arg(1) as UnshareReason;
      if (!UNSHARE_REASONS.includes(reason)) bad('unknown unshare reason');
      return { type: 'unshared', name: decodeArg(arg(0)), reason };
    }
  }
}
