/**
 * Valid inputs for the fuzzer to start from: lines, commands, nicknames,
 * server events and UDP packets, each drawn from a seeded Rng. Mutations of
 * these reach far deeper into a decoder than random bytes do.
 */
import {
  CONTROL_TEXT_MAX_BYTES,
  ERROR_CODES,
  LEAVE_REASONS,
  MAX_ACK_RANGES,
  MAX_PAYLOAD_BYTES,
  MAX_RECEIVE_WINDOW,
  MIN_PAYLOAD_BYTES,
  NICK_MAX_LENGTH,
  NONCE_BYTES,
  PACKET_TYPES,
  RESERVED_NICKS,
  TOKEN_BYTES,
  type ErrorCode,
  type PacketRange,
  type PacketTypeName,
  type ServerEvent,
  type UdpPacket,
  ACCOUNT_STATES,
  UNSHARE_REASONS,
} from '../../src/index.js';
import type { Field } from './mutate.js';
import type { Rng } from './rng.js';

/**
 * Code points that have tripped text handling somewhere: separators, controls
 * (C0, C1, DEL), bidi overrides and isolates, invisible and filler characters,
 * look-alikes, characters whose NFKC form holds a space or a comma, case
 * mappings that change length, combining marks, emoji, a lone surrogate.
 */
export const TRICKY_CHARS: readonly string[] = [
  ',',
  ' ',
  ':',
  '%',
  '-',
  '_',
  '.',
  '[',
  ']',
  '{',
  '}',
  '|',
  '^',
  '`',
  '\\',
  '/',
  '\t',
  '\r',
  '\n',
  '\0',
  '\x1b',
  '\x7f',
  '\u0085',
  '\u009b',
  '\u00a0',
  '\u00ad',
  '\u034f',
  '\u037a',
  '\u0430',
  '\u0435',
  '\u043e',
  '\u0131',
  '\u0130',
  '\u00df',
  '\u1e9e',
  '\u017f',
  '\u212a',
  '\u2126',
  '\u0301',
  '\u0308',
  '\u0345',
  '\u115f',
  '\u1160',
  '\u3164',
  '\uffa0',
  '\u180e',
  '\u200b',
  '\u200c',
  '\u200d',
  '\u200e',
  '\u200f',
  '\u2028',
  '\u2029',
  '\u202a',
  '\u202e',
  '\u2066',
  '\u2069',
  '\u2060',
  '\ufeff',
  '\ufe0f',
  '\ufdfa',
  '\ufdfb',
  '\ufb01',
  '\uff0c',
  '\uff1a',
  '\uff41',
  '\u2474',
  '\u00bc',
  '\u2160',
  '\u3000',
  '\ufffd',
  '\ud800',
  '\udfff',
  '\u{1f101}',
  '\u{1f600}',
  '\u{1f1eb}\u{1f1f7}',
  '\u{e0041}',
  '\u{10ffff}',
  '日',
  '本',
  'é',
  'e\u0301',
  'ǅ',
  'ﬀ',
];

const ASCII_NICK_FIRST = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_';
const ASCII_NICK_REST = `${ASCII_NICK_FIRST}-.[]{}|^\``;
const UNICODE_NICK_CHARS = ['é', 'ü', 'ñ', 'ß', 'ø', 'Ω', 'ж', 'я', '日', '本', '語', '한', 'ก', 'ע', 'ي', '٣', '१', 'ǅ', 'ſ', 'K', 'ﬁ', '①'];

/** Byte strings worth inserting into a line or a packet. */
export const DICTIONARY: readonly Buffer[] = [
  '\n',
  '\r\n',
  '\r',
  ',',
  ' :',
  ':',
  ' ',
  '%',
  '%2',
  '%zz',
  '%20',
  '-',
  'broadcast,',
  'download,',
  'pong,',
  'cancel,',
  'online',
  'files',
  'exit',
  'help',
  'welcome 1 ',
  'offer ',
  'error ',
  'bye ',
  'files 1 ',
  'online 2 ',
  'history',
  'history,before,',
  'history,after,',
  'ids,on',
  'history broadcast ',
  'history end join ',
  'sent ',
  '2026-12-06T16:05:03.123Z',
]
  .map((s) => Buffer.from(s, 'latin1'))
  .concat(
    [
      [0xc3],
      [0xc3, 0x28],
      [0xe2, 0x82],
      [0xed, 0xa0, 0x80],
      [0xf0, 0x9f],
      [0xf0, 0x9f, 0x98, 0x80],
      [0xc0, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0xef, 0xbb, 0xbf],
      [0xff],
    ].map((b) => Buffer.from(b)),
  );

/** Random text: printable ASCII, tricky characters, random BMP and astral code points. */
export function randomText(rng: Rng, maxChars: number): string {
  const n = rng.size(maxChars);
  let out = '';
  for (let i = 0; i < n; i++) {
    const r = rng.below(10);
    if (r < 5) out += String.fromCharCode(rng.int(0x20, 0x7e));
    else if (r < 7) out += rng.pick(TRICKY_CHARS);
    else if (r < 9) out += String.fromCharCode(rng.int(0x80, 0xffff));
    else out += String.fromCodePoint(rng.int(0x10000, 0x10ffff));
  }
  return out;
}

/** Random well-formed text without CR and LF (free text of a line). */
export function randomLineText(rng: Rng, maxChars: number): string {
  return wellFormed(randomText(rng, maxChars).replace(/[\r\n]/gu, ' '));
}

/** Replaces lone surrogates (which UTF-8 cannot carry) with U+FFFD. */
export function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udfff]/gu, '\ufffd');
}

/** A nickname that follows the documented rule (and is not a command word). */
export function validNick(rng: Rng): string {
  const n = rng.int(1, rng.chance(0.9) ? 12 : NICK_MAX_LENGTH);
  let nick = rng.chance(0.85) ? rng.pick([...ASCII_NICK_FIRST]) : rng.pick(UNICODE_NICK_CHARS);
  for (let i = 1; i < n; i++) nick += rng.chance(0.85) ? rng.pick([...ASCII_NICK_REST]) : rng.pick(UNICODE_NICK_CHARS);
  nick = nick.normalize('NFC');
  return RESERVED_NICKS.has(nick.normalize('NFKC').toLowerCase()) ? `${nick.slice(0, NICK_MAX_LENGTH - 1)}_` : nick;
}

/** A nickname to check: valid, mutated, or random text. */
export function nickCandidate(rng: Rng): string {
  const r = rng.below(10);
  if (r < 2) return validNick(rng);
  if (r < 8) return mutateNickLike(rng, validNick(rng));
  if (r < 9) return rng.pick([...RESERVED_NICKS]);
  return randomText(rng, 40);
}

function mutateNickLike(rng: Rng, nick: string): string {
  const chars = Array.from(nick);
  const count = rng.int(1, 3);
  for (let i = 0; i < count; i++) {
    const at = rng.below(chars.length + 1);
    const c = rng.chance(0.7) ? rng.pick(TRICKY_CHARS) : String.fromCodePoint(rng.int(0x80, 0x2ffff));
    if (rng.chance(0.5)) chars.splice(at, 0, c);
    else chars[Math.min(at, chars.length - 1)] = c;
  }
  if (rng.chance(0.1)) chars.unshift(' ');
  if (rng.chance(0.1)) chars.push(' ');
  if (rng.chance(0.05)) return chars.join('').repeat(rng.int(2, 4));
  return chars.join('');
}

/** A command line (no line ending) that parses. */
export function validCommandLine(rng: Rng): string {
  const pad = (): string => (rng.chance(0.1) ? ' ' : '');
  const text = (): string => randomLineText(rng, 60).replace(/[\u0000-\u001f\u007f-\u009f]/gu, '') || 'hi';
  switch (rng.below(13)) {
    case 12: {
      // Sharing: a name with commas and spaces is read from the right.
      const name = rng.pick(['a.jpg', 'my photo, 2.png', 'ü.txt', 'x'.repeat(rng.int(1, 40))]);
      const sha = hex(rng, 64);
      return rng.chance(0.2) ? `unshare,${name}` : `${pad()}share,${name},${safeInt(rng)},${sha}${rng.chance(0.5) ? `,${validNick(rng)}` : ''}`;
    }
    case 11: {
      // Accounts (protocol 2): the password is the rest of the line as typed, commas and spaces included.
      const secret = (): string => randomLineText(rng, 40).replace(/[\u0000-\u001f\u007f-\u009f]/gu, '') || 'pw';
      return rng.pick([
        `register,${secret()}`,
        `Login,${secret()}`,
        `login,token,${hex(rng, 64).toLowerCase()}`,
        `unregister,${secret()}`,
        `password,${secret().replace(/,/gu, '') || 'old'},${secret()}`,
        // Moderation (protocol 2): a target, an optional duration, an optional reason.
        `kick,${validNick(rng)}${rng.chance(0.5) ? `,${text()}` : ''}`,
        `ban,${rng.chance(0.5) ? validNick(rng) : rng.pick(['203.0.113.7', '203.0.113.0/24', '2001:db8::/48'])}${rng.chance(0.5) ? `,${rng.int(1, 999)}${rng.pick(['s', 'm', 'h', 'd'])}` : ''}${rng.chance(0.5) ? `,${text()}` : ''}`,
        `unban,${validNick(rng)}`,
        'bans',
      ]);
    }
    case 9:
      return rng.pick([
        `history`,
        `history,${rng.int(1, 500)}`,
        `history,before,${rng.u32()}`,
        `history,After,${rng.u32()}-${rng.below(9)},${rng.int(1, 500)}`,
      ]);
    case 10:
      return `${pad()}ids${pad()},${rng.pick(['on', 'off', 'ON'])}`;
    case 0:
      return `${pad()}broadcast${pad()},${text()}`;
    case 1:
      return `${validNick(rng)},${text()}`;
    case 2:
      return `${pad()}${rng.pick(['online', 'files', 'exit', 'quit', 'help', 'pong', 'ONLINE', 'Files'])}${pad()}`;
    case 3:
      return `download,${rng.pick(['a.jpg', 'my photo.png', 'ü.txt', '../etc/passwd', '.hidden', 'x'.repeat(rng.int(1, 300))])}`;
    case 4:
      return `pong,${rng.u32()}`;
    case 5:
      return `cancel,${rng.below(10_000_000)}`;
    case 6:
      return '';
    case 7:
      return `${validNick(rng)},${text()},${text()}`;
    default:
      return `BroadCast,  ${text()}  `;
  }
}

/** A command line to parse: valid, mutated, or random text. No LF: the line decoder never yields one. */
export function commandCandidate(rng: Rng, mutate: (text: string) => string): string {
  const r = rng.below(10);
  const line = r < 2 ? validCommandLine(rng) : r < 9 ? mutate(validCommandLine(rng)) : randomText(rng, 200);
  return line.replace(/\n/gu, '');
}

// ---------------------------------------------------------------- events

const HEX = '0123456789abcdef';
function hex(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[rng.below(16)];
  return s;
}

const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

function safeInt(rng: Rng): number {
  switch (rng.below(4)) {
    case 0:
      return rng.below(1000);
    case 1:
      return rng.u32();
    case 2:
      return Number.MAX_SAFE_INTEGER - rng.below(3);
    default:
      return rng.u32() * 2 ** 21 + rng.below(2 ** 21);
  }
}

/** A server event that the encoder can write (free text without CR and LF). */
export function validEvent(rng: Rng): ServerEvent {
  const text = (): string => randomLineText(rng, 80);
  const fileName = (): string => (rng.chance(0.1) ? rng.pick(['', '-', ':x', '%41', 'a b', '%']) : randomLineText(rng, 30));
  const stamp = (): { id: string; time: string } => ({
    id: rng.chance(0.5) ? String(rng.u32()) : `${rng.u32()}-${rng.below(10)}`,
    time: new Date(rng.below(4_000_000_000_000)).toISOString(),
  });
  const time = (): string => new Date(rng.below(4_000_000_000_000)).toISOString();
  const ban = () => ({
    kind: rng.pick(['nick', 'address'] as const),
    target: rng.chance(0.5) ? validNick(rng) : rng.pick(['', '203.0.113.0/24', '2001:db8::/48']),
    by: validNick(rng),
    ...(rng.chance(0.5) ? { until: time() } : {}),
    reason: text(),
  });
  switch (rng.below(20)) {
    case 19:
      return rng.pick<ServerEvent>([
        { type: 'resume', token: hex(rng, 64).toLowerCase(), expires: time() },
        { type: 'waiting', to: validNick(rng), count: rng.int(0, 100), text: text() },
        { type: 'waited', from: validNick(rng), time: time(), text: text() },
        { type: 'kicked', nick: validNick(rng), by: validNick(rng), reason: text() },
        { type: 'banned', ban: ban() },
        { type: 'unbanned', kind: rng.pick(['nick', 'address'] as const), target: rng.chance(0.5) ? validNick(rng) : '', by: validNick(rng) },
        { type: 'ban', ban: { ...ban(), at: time() } },
        { type: 'bans', count: rng.int(0, 10_000) },
      ]);
    case 17:
      return {
        type: 'upload',
        id: rng.u32(),
        name: fileName(),
        size: safeInt(rng),
        sha256: hex(rng, 64),
        token: hex(rng, 32),
        udpPort: rng.int(1, 65535),
        ...(rng.chance(0.3) ? { key: hex(rng, 64).toLowerCase() } : {}),
      };
    case 18:
      return rng.chance(0.3)
        ? { type: 'unshared', name: fileName(), reason: rng.pick(UNSHARE_REASONS) }
        : { type: 'shared', from: validNick(rng), name: fileName(), size: safeInt(rng), ...(rng.chance(0.5) ? { to: validNick(rng) } : {}) };
    case 16:
      return { type: 'account', state: rng.pick(ACCOUNT_STATES), nick: validNick(rng), text: text() };
    case 12:
      return { type: 'broadcast', from: validNick(rng), text: text(), ...stamp() };
    case 13:
      return {
        type: 'history',
        message: rng.chance(0.5)
          ? { type: 'broadcast', from: validNick(rng), text: text(), ...stamp() }
          : { type: 'private', from: validNick(rng), to: validNick(rng), text: text(), ...stamp() },
      };
    case 14:
      return { type: 'history-end', form: rng.pick(['join', 'last', 'before', 'after'] as const), count: rng.below(501), more: rng.chance(0.5) };
    case 15:
      return rng.chance(0.5) ? { type: 'sent', ...stamp() } : { type: 'ids', on: rng.chance(0.5) };
    case 0:
      return { type: 'welcome', version: rng.below(5), nick: validNick(rng), text: text() };
    case 1:
      return { type: 'online', nicks: Array.from({ length: rng.size(20) }, () => validNick(rng)) };
    case 2:
      return { type: 'joined', nick: validNick(rng) };
    case 3:
      return { type: 'left', nick: validNick(rng), reason: rng.pick(LEAVE_REASONS) };
    case 4:
      return { type: 'broadcast', from: validNick(rng), text: text() };
    case 5:
      return { type: 'private', from: validNick(rng), to: validNick(rng), text: text() };
    case 6:
      return { type: 'files', files: Array.from({ length: rng.size(10) }, () => ({ name: fileName(), size: safeInt(rng) })) };
    case 7:
      return {
        type: 'offer',
        id: rng.u32(),
        name: fileName(),
        size: safeInt(rng),
        sha256: hex(rng, 64),
        token: hex(rng, 32),
        udpPort: rng.int(1, 65535),
        ...(rng.chance(0.3) ? { key: hex(rng, 64).toLowerCase() } : {}),
      };
    case 8:
      return { type: 'error', code: rng.pick(ERROR_CODE_LIST), text: text() };
    case 9:
      return { type: 'ping', token: rng.chance(0.5) ? String(rng.u32()) : randomLineText(rng, 20) };
    case 10:
      return { type: 'bye', code: rng.pick(ERROR_CODE_LIST), text: text() };
    default:
      return { type: 'info', text: text() };
  }
}

// ---------------------------------------------------------------- UDP packets

/** A CHALLENGE nonce as the server draws it (all zero means "no nonce" in a REQUEST, so never that). */
function nonzeroNonce(rng: Rng): Buffer {
  const n = rng.bytes(NONCE_BYTES);
  n[0] = (n[0] ?? 0) | 1;
  return n;
}

/** Packet types with a generator below; a test checks it covers PACKET_TYPES. */
export const PACKET_GENERATORS: Readonly<Record<PacketTypeName, (rng: Rng) => UdpPacket>> = {
  REQUEST: (rng) => ({
    type: 'request',
    transferId: rng.u32(),
    token: rng.bytes(TOKEN_BYTES),
    resumeFrom: rng.chance(0.5) ? 0 : rng.u32(),
    payloadSize: rng.chance(0.5) ? 1452 : rng.int(MIN_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES),
    window: rng.int(1, rng.chance(0.5) ? 4096 : MAX_RECEIVE_WINDOW),
    ...(rng.chance(0.5) ? { nonce: nonzeroNonce(rng) } : {}),
  }),
  CHALLENGE: (rng) => ({ type: 'challenge', transferId: rng.u32(), nonce: nonzeroNonce(rng) }),
  DATA: (rng) => ({
    type: 'data',
    transferId: rng.u32(),
    packetNumber: rng.u32(),
    chunk: rng.u32(),
    payload: rng.bytes(rng.chance(0.001) ? rng.int(1, MAX_PAYLOAD_BYTES) : rng.int(1, rng.chance(0.9) ? 64 : 1452)),
  }),
  ACK: (rng) => {
    const largest = rng.chance(0.5) ? rng.below(10_000) : rng.u32();
    const ranges: PacketRange[] = [];
    const count = rng.below(MAX_ACK_RANGES + 1);
    let last = largest;
    for (let i = 0; i < count && last >= 0; i++) {
      const first = Math.max(0, last - rng.below(rng.chance(0.5) ? 5 : 1000));
      ranges.push({ first, last });
      last = first - 2 - rng.below(rng.chance(0.5) ? 3 : 500);
    }
    return {
      type: 'ack',
      transferId: rng.u32(),
      largest,
      ackDelayUs: rng.chance(0.5) ? rng.below(100_000) : rng.u32(),
      cumulative: rng.chance(0.5) ? rng.below(10_000) : rng.u32(),
      window: rng.below(MAX_RECEIVE_WINDOW + 1),
      ranges,
    };
  },
  END: (rng) => ({ type: 'end', transferId: rng.u32(), totalChunks: rng.u32(), size: safeInt(rng) }),
  END_ACK: (rng) => ({ type: 'end-ack', transferId: rng.u32(), totalChunks: rng.u32() }),
  CANCEL: (rng) => ({ type: 'cancel', transferId: rng.u32(), token: rng.bytes(TOKEN_BYTES), code: rng.pick(ERROR_CODE_LIST), text: controlText(rng) }),
  ERROR: (rng) => ({ type: 'error', transferId: rng.u32(), code: rng.pick(ERROR_CODE_LIST), text: controlText(rng) }),
};

/** Control text that fits CANCEL / ERROR unclamped, so it round-trips exactly. */
function controlText(rng: Rng): string {
  let text = wellFormed(randomText(rng, 40));
  while (Buffer.byteLength(text, 'utf8') > CONTROL_TEXT_MAX_BYTES) text = Array.from(text).slice(0, -1).join('');
  return text;
}

export const PACKET_TYPE_NAMES = Object.keys(PACKET_TYPES) as PacketTypeName[];

export function validPacket(rng: Rng, type: PacketTypeName = rng.pick(PACKET_TYPE_NAMES)): UdpPacket {
  return PACKET_GENERATORS[type](rng);
}

/** The integer fields of an encoded packet of this type that are worth setting to boundary values. */
export function packetFields(type: PacketTypeName, bytes: Buffer): Field[] {
  const fields: Field[] = [
    { offset: 2, width: 1 },
    { offset: 3, width: 1 },
    { offset: 4, width: 4 },
  ];
  switch (type) {
    case 'REQUEST':
      fields.push({ offset: 24, width: 4 }, { offset: 28, width: 2 }, { offset: 30, width: 4 });
      break;
    case 'DATA':
      fields.push({ offset: 8, width: 4 }, { offset: 12, width: 4 });
      break;
    case 'ACK':
      fields.push({ offset: 8, width: 4 }, { offset: 12, width: 4 }, { offset: 16, width: 4 }, { offset: 20, width: 4 }, { offset: 24, width: 1 });
      for (let at = 25; at + 8 <= bytes.length - 4; at += 8) fields.push({ offset: at, width: 4 }, { offset: at + 4, width: 4 });
      break;
    case 'END':
      fields.push({ offset: 8, width: 4 }, { offset: 12, width: 4 }, { offset: 16, width: 4 });
      break;
    case 'END_ACK':
      fields.push({ offset: 8, width: 4 });
      break;
    case 'CANCEL':
    case 'ERROR': {
      const at = type === 'CANCEL' ? 24 : 8;
      fields.push({ offset: at, width: 1 }, { offset: at + 1 + (bytes[at] ?? 0), width: 1 });
      break;
    }
  }
  return fields;
}
