/**
 * What is fuzzed, and which properties each input must keep. Every target
 * throws (a FuzzViolation or whatever the code under test threw) when one
 * does not hold; the engine counts that as a crash.
 *
 * Why this is about 590 lines: it is the table of all 17 targets, each a
 * generator beside the properties it checks, sharing the generators and
 * checkers of the packet and event formats above them; read one target at a
 * time. Input generators for valid values are in seeds.ts, mutation in
 * mutate.ts, the loop in engine.ts.
 */
import { isUtf8 } from 'node:buffer';
import { crc32 } from 'node:zlib';
import {
  checkMessageText,
  checkNickname,
  decodeEvent,
  decodePacket,
  DEFAULT_MAX_EVENT_LINE_BYTES,
  DEFAULT_MAX_LINE_BYTES,
  encodeCommand,
  encodeEvent,
  encodePacket,
  eventFrame,
  hasControlCharacters,
  LineDecoder,
  MAX_DATAGRAM_BYTES,
  NICK_MAX_LENGTH,
  nickKey,
  PACKET_TYPES,
  parseCommand,
  PacketSealer,
  peekPacketType,
  peekTransferId,
  NONCE_BYTES,
  REQUEST_NONCE_OFFSET,
  REQUEST_PACKET_BYTES,
  UDP_VERSION,
  RESERVED_NICKS,
  sameNick,
  type Command,
  type DecodedLine,
  type PacketTypeName,
  type ServerEvent,
  type UdpPacket,
} from '../../src/index.js';
import { defineTarget, expectProtocolError, violation, type AnyTarget } from './engine.js';
import { mutateBytes, mutateText } from './mutate.js';
import type { Rng } from './rng.js';
import {
  commandCandidate,
  DICTIONARY,
  nickCandidate,
  PACKET_TYPE_NAMES,
  packetFields,
  randomText,
  TRICKY_CHARS,
  validCommandLine,
  validEvent,
  validPacket,
} from './seeds.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const json = (s: string): string => JSON.stringify(s);

/** Stable text for deep comparison: buffers as hex. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return `hex:${Buffer.from((v as { data: number[] }).data).toString('hex')}`;
    }
    return v;
  });
}

// ---------------------------------------------------------------- line decoder

const LINE_CODES = new Set(['LINE_TOO_LONG', 'INVALID_UTF8']);

function summarise(results: readonly DecodedLine[], out: string[], max: number): void {
  for (const r of results) {
    if (r.ok) {
      if (typeof r.line !== 'string') violation('a decoded line is not a string');
      if (r.line.includes('\n')) violation(`a decoded line holds LF: ${json(r.line)}`);
      if (Buffer.byteLength(r.line, 'utf8') > max) violation(`a decoded line is ${Buffer.byteLength(r.line, 'utf8')} bytes, limit ${max}`);
      out.push(`L:${r.line}`);
    } else {
      expectProtocolError(r.error, (c) => LINE_CODES.has(c));
      out.push(`E:${r.error.wireCode}`);
    }
  }
}

/** Feeds chunks, checks the decoder's bound after every one, and returns what it yielded. */
function decodeAll(chunks: readonly Uint8Array[], max: number): string[] {
  const decoder = new LineDecoder({ maxLineBytes: max });
  const out: string[] = [];
  for (const chunk of chunks) {
    summarise(decoder.push(chunk), out, max);
    // The documented accessor: bytes held for an unfinished line.
    if (decoder.pendingBytes > max + 1) violation(`decoder holds ${decoder.pendingBytes} bytes, limit ${max} (+1 for a CR)`);
  }
  const pending = decoder.pendingBytes;
  if (decoder.reset() !== pending) violation('reset() did not report the bytes it dropped');
  return out;
}

/**
 * What the decoder must yield, written the obvious way for a whole input:
 * split at LF, drop one CR, too long / not UTF-8 / the line. An unfinished
 * tail yields an error only once it is longer than the limit plus a CR.
 */
function referenceLines(bytes: Buffer, max: number): string[] {
  const out: string[] = [];
  let start = 0;
  for (;;) {
    const lf = bytes.indexOf(0x0a, start);
    if (lf === -1) {
      if (bytes.length - start > max + 1) out.push('E:LINE_TOO_LONG');
      return out;
    }
    let end = lf;
    if (end > start && bytes[end - 1] === 0x0d) end -= 1;
    const content = bytes.subarray(start, end);
    if (content.length > max) out.push('E:LINE_TOO_LONG');
    else if (!isUtf8(content)) out.push('E:INVALID_UTF8');
    else out.push(`L:${content.toString('utf8')}`);
    start = lf + 1;
  }
}

function sameLines(a: readonly string[], b: readonly string[], what: string): void {
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
    violation(`${what}:\n    got      ${JSON.stringify(a).slice(0, 600)}\n    expected ${JSON.stringify(b).slice(0, 600)}`);
  }
}

function lineStream(rng: Rng, maxLength: number): Buffer {
  const r = rng.below(10);
  if (r < 2) return rng.bytes(rng.size(maxLength));
  const lines: Buffer[] = [];
  const n = rng.int(1, 6);
  for (let i = 0; i < n; i++) {
    const text = rng.chance(0.7) ? validCommandLine(rng) : randomText(rng, 40);
    lines.push(Buffer.from(`${text}${rng.chance(0.3) ? '\r\n' : '\n'}`, 'utf8'));
  }
  if (rng.chance(0.05)) lines.push(Buffer.alloc(rng.int(1, 5000), 0x61));
  const valid = Buffer.concat(lines);
  return r < 4 ? valid : mutateBytes(rng, valid, { dictionary: DICTIONARY, others: lines, maxLength });
}

interface LineInput {
  readonly bytes: Buffer;
  readonly max: number;
  readonly cuts: readonly number[];
}

const lineDecoder = defineTarget<LineInput, null>({
  name: 'line-decoder',
  about: 'LineDecoder.push: same lines as a reference for the whole input, a random split and one byte at a time',
  session: () => null,
  generate(rng) {
    const max = rng.chance(0.3) ? DEFAULT_MAX_LINE_BYTES : rng.pick([1, 2, 3, 4, 5, 8, 16, 32, rng.int(1, 300)]);
    const bytes = lineStream(rng, 6000);
    const cuts = Array.from({ length: rng.below(12) }, () => rng.below(bytes.length + 1)).sort((a, b) => a - b);
    return { bytes, max, cuts };
  },
  check({ bytes, max, cuts }) {
    const expected = referenceLines(bytes, max);
    sameLines(decodeAll([bytes], max), expected, 'whole input differs from the reference');
    const pieces: Buffer[] = [];
    let prev = 0;
    for (const c of cuts) {
      pieces.push(bytes.subarray(prev, c));
      prev = c;
    }
    pieces.push(bytes.subarray(prev));
    sameLines(decodeAll(pieces, max), expected, `split at ${cuts.join(',')} differs from the whole input`);
    if (bytes.length <= 160) {
      sameLines(
        decodeAll(
          Array.from(bytes, (b) => Uint8Array.of(b)),
          max,
        ),
        expected,
        'byte by byte differs from the whole input',
      );
    }
  },
  describe: ({ bytes, max, cuts }) => `maxLineBytes=${max} cuts=[${cuts.join(',')}] hex=${hex(bytes)}`,
});

interface StreamState {
  readonly decoder: LineDecoder;
  maxPending: number;
  lines: number;
  errors: number;
  bytes: number;
}

/** One decoder for the whole run, fed one chunk per input, as a server's connection is. */
const lineDecoderStream = defineTarget<Buffer, StreamState>({
  name: 'line-decoder-stream',
  about: 'one LineDecoder (limit 4096) fed every chunk of the run: what it holds never exceeds the limit + 1',
  session: () => ({ decoder: new LineDecoder(), maxPending: 0, lines: 0, errors: 0, bytes: 0 }),
  generate(rng) {
    const r = rng.below(10);
    if (r < 3) return Buffer.of(rng.chance(0.05) ? 0x0a : rng.int(0x20, 0x7e)); // one byte per segment
    if (r < 6) {
      const bytes = rng.bytes(rng.size(2000)); // no LF: the line grows
      for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i)) bytes[i] = 0x0b;
      return bytes;
    }
    return lineStream(rng, 3000);
  },
  check(chunk, state) {
    const out: string[] = [];
    const reused = Buffer.from(chunk);
    summarise(state.decoder.push(reused), out, state.decoder.maxLineBytes);
    reused.fill(0x0a); // the caller may reuse its buffer: the decoder must have copied what it keeps
    state.bytes += chunk.length;
    for (const o of out)
      if (o.startsWith('L:')) state.lines += 1;
      else state.errors += 1;
    const pending = state.decoder.pendingBytes;
    if (pending > state.decoder.maxLineBytes + 1) violation(`decoder holds ${pending} bytes, limit ${state.decoder.maxLineBytes} (+1 for a CR)`);
    if (pending > state.maxPending) state.maxPending = pending;
  },
  describe: (chunk) => `hex=${hex(chunk)} (the decoder's state depends on every earlier input of this run)`,
  finish: (s) => `max pendingBytes ${s.maxPending} (limit ${s.decoder.maxLineBytes}), ${s.bytes} bytes fed, ${s.lines} lines, ${s.errors} line errors`,
});

// ---------------------------------------------------------------- commands

const COMMAND_CODES = new Set(['UNKNOWN_COMMAND', 'BAD_ARGUMENTS', 'EMPTY_MESSAGE', 'BAD_TEXT']);

function checkCommandShape(command: Command, line: string): void {
  switch (command.type) {
    case 'broadcast':
    case 'private': {
      if (command.text !== command.text.trim()) violation(`text is not trimmed: ${json(command.text)}`);
      const bad = checkMessageText(command.text);
      if (bad) violation(`accepted text the message rule refuses (${bad.wireCode}): ${json(command.text)}`);
      if (hasControlCharacters(command.text)) violation(`accepted text with control characters: ${json(command.text)}`);
      if (command.type === 'private') {
        const nick = checkNickname(command.to);
        if (!nick.ok || nick.nick !== command.to) violation(`private message to ${json(command.to)}, which is not a valid nickname`);
      }
      return;
    }
    case 'download':
      if (command.file.length === 0 || command.file !== command.file.trim()) violation(`bad download name ${json(command.file)}`);
      return;
    case 'cancel':
      if (!/^[0-9]{1,10}$/u.test(command.transferId)) violation(`bad transfer id ${json(command.transferId)}`);
      return;
    case 'pong':
      if (command.token !== command.token.trim()) violation(`pong token is not trimmed: ${json(command.token)}`);
      return;
    case 'online':
    case 'files':
    case 'exit':
    case 'help':
      if (line.includes(',')) violation(`a bare command was parsed from a line with a comma: ${json(line)}`);
      return;
  }
}

const ALPHABET = [...TRICKY_CHARS, ...'abcxyzABC019_'];

const commandParser = defineTarget<string, null>({
  name: 'command-parser',
  about: 'parseCommand: only UNKNOWN_COMMAND / BAD_ARGUMENTS / EMPTY_MESSAGE / BAD_TEXT; a parsed command re-encodes and re-parses to itself',
  session: () => null,
  generate: (rng) => commandCandidate(rng, (text) => mutateText(rng, text, ALPHABET, DICTIONARY, 600)),
  check(line) {
    const result = parseCommand(line);
    if (!result.ok) {
      expectProtocolError(result.error, (c) => COMMAND_CODES.has(c));
      return;
    }
    if (result.command === null) {
      if (line.trim().length !== 0) violation('a non-blank line parsed as nothing');
      return;
    }
    checkCommandShape(result.command, line);
    const again = parseCommand(encodeCommand(result.command));
    if (!again.ok || canonical(again.command) !== canonical(result.command)) {
      violation(`encodeCommand → parseCommand is not stable: ${canonical(result.command)} → ${canonical(again)}`);
    }
  },
  describe: (line) => `${json(line)} hex=${hex(Buffer.from(line, 'utf8'))}`,
});

// ---------------------------------------------------------------- nicknames

const nicknameRules = defineTarget<string, null>({
  name: 'nickname',
  about: 'checkNickname / nickKey: only NICK_* codes; an accepted nickname is stable under re-checking, its key is idempotent, it can be addressed',
  session: () => null,
  generate: (rng) => nickCandidate(rng),
  check(raw) {
    const result = checkNickname(raw);
    if (!result.ok) {
      expectProtocolError(result.error, (c) => c.startsWith('NICK_'));
      return;
    }
    const { nick } = result;
    if (nick.length === 0 || nick !== nick.trim()) violation(`accepted nickname is empty or untrimmed: ${json(nick)}`);
    if (nick !== nick.normalize('NFC')) violation(`accepted nickname is not NFC: ${json(nick)}`);
    if ([...nick].length > NICK_MAX_LENGTH) violation(`accepted nickname has more than ${NICK_MAX_LENGTH} characters`);
    if (/[\s,:%\p{Cc}\p{Cs}]/u.test(nick)) violation(`accepted nickname has a space, separator, control or lone surrogate: ${json(nick)}`);
    const again = checkNickname(nick);
    if (!again.ok || again.nick !== nick) violation(`re-checking an accepted nickname changes it: ${json(nick)} → ${canonical(again)}`);
    const key = nickKey(nick);
    // Both were findings (regressions.test.ts), fixed; the fuzzer guards them again.
    if (nickKey(key) !== key) violation(`nickKey is not idempotent: ${json(nick)} → ${json(key)} → ${json(nickKey(key))}`);
    if (/[\s,]/u.test(key)) violation(`a nick key holds a separator: ${json(nick)} → ${json(key)}`);
    if (!sameNick(nick, nick.normalize('NFKC'))) violation(`a nickname and its NFKC form are different users: ${json(nick)}`);
    if (RESERVED_NICKS.has(key)) violation(`accepted a command word: ${json(nick)}`);
    const addressed = parseCommand(`${nick},hi`);
    if (!addressed.ok || canonical(addressed.command) !== canonical({ type: 'private', to: nick, text: 'hi' })) {
      violation(`an accepted nickname cannot be addressed: ${json(nick)} → ${canonical(addressed)}`);
    }
  },
  describe: (raw) => `${json(raw)} hex=${hex(Buffer.from(raw, 'utf8'))}`,
});

// ---------------------------------------------------------------- events

const eventDecoder = defineTarget<string, null>({
  name: 'event-decoder',
  about: 'decodeEvent on mutated event lines: only BAD_EVENT; a decoded event re-encodes and decodes to itself',
  session: () => null,
  generate(rng) {
    const line = encodeEvent(validEvent(rng));
    const r = rng.below(10);
    if (r < 1) return line;
    if (r < 9) return mutateText(rng, line, ALPHABET, DICTIONARY, 4000).replace(/\n/gu, '');
    return randomText(rng, 200).replace(/\n/gu, '');
  },
  check(line) {
    let event: ServerEvent;
    try {
      event = decodeEvent(line);
    } catch (err) {
      expectProtocolError(err, (c) => c === 'BAD_EVENT');
      return;
    }
    const again = decodeEvent(encodeEvent(event));
    if (canonical(again) !== canonical(event)) violation(`decode → encode → decode changed the event: ${canonical(event)} → ${canonical(again)}`);
  },
  describe: (line) => `${json(line)} hex=${hex(Buffer.from(line, 'utf8'))}`,
});

const eventRoundTrip = defineTarget<ServerEvent, null>({
  name: 'event-roundtrip',
  about: 'every valid event: eventFrame → LineDecoder → decodeEvent gives the same event',
  session: () => null,
  generate: (rng) => validEvent(rng),
  check(event) {
    const lines = new LineDecoder({ maxLineBytes: DEFAULT_MAX_EVENT_LINE_BYTES }).push(eventFrame(event));
    const only = lines[0];
    if (lines.length !== 1 || !only?.ok) violation(`the frame is not one line: ${canonical(lines)}`);
    const decoded = decodeEvent(only.line);
    if (canonical(decoded) !== canonical(event)) violation(`round trip changed the event: ${canonical(decoded)}`);
  },
  describe: (event) => canonical(event),
});

// ---------------------------------------------------------------- UDP packets

function seal(buf: Buffer): Buffer {
  if (buf.length >= 4) buf.writeUInt32BE(crc32(buf.subarray(0, buf.length - 4)), buf.length - 4);
  return buf;
}

/** REQUEST padding is not read by the decoder: the encoder writes zeros there whatever arrived. */
function expectedReencoding(packet: UdpPacket, bytes: Buffer): Buffer {
  if (packet.type !== 'request') return bytes;
  const copy = Buffer.from(bytes);
  copy.fill(0, REQUEST_NONCE_OFFSET + NONCE_BYTES, REQUEST_PACKET_BYTES - 4);
  // An all-zero nonce field decodes as "no nonce" and re-encodes as zeros: the same bytes.
  return seal(copy);
}

const U32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff;

function checkPacketFields(p: UdpPacket): void {
  const u32s: number[] = [p.transferId];
  switch (p.type) {
    case 'request':
      u32s.push(p.resumeFrom, p.payloadSize, p.window);
      break;
    case 'data':
      u32s.push(p.packetNumber, p.chunk);
      if (p.payload.length === 0) violation('DATA decoded with an empty payload');
      break;
    case 'ack': {
      u32s.push(p.largest, p.ackDelayUs, p.cumulative, p.window);
      let floor = p.largest + 1;
      for (const r of p.ranges) {
        u32s.push(r.first, r.last);
        if (r.first > r.last || r.last >= floor) violation(`ACK ranges are not descending: ${canonical(p.ranges)}`);
        floor = r.first - 1;
      }
      break;
    }
    case 'end':
      u32s.push(p.totalChunks);
      if (!Number.isSafeInteger(p.size) || p.size < 0) violation(`END size ${p.size}`);
      break;
    case 'end-ack':
      u32s.push(p.totalChunks);
      break;
    case 'cancel':
    case 'error':
      if (Buffer.byteLength(p.text, 'utf8') > 64) violation('control text longer than 64 bytes');
      break;
  }
  if (!u32s.every(U32)) violation(`a field is not a u32: ${canonical(p)}`);
}

/** Decodes, and for a packet that decodes: fields in range, peeks agree, re-encodes to the same bytes. */
function checkDatagram(bytes: Buffer, maxDatagramBytes: number | undefined): void {
  const peekedId = peekTransferId(bytes);
  const peekedType = peekPacketType(bytes);
  let packet: UdpPacket;
  try {
    packet = decodePacket(bytes, maxDatagramBytes === undefined ? {} : { maxDatagramBytes });
  } catch (err) {
    expectProtocolError(err, (c) => c.startsWith('PACKET_'));
    return;
  }
  if (maxDatagramBytes !== undefined && bytes.length > maxDatagramBytes) violation(`accepted ${bytes.length} bytes over a limit of ${maxDatagramBytes}`);
  checkPacketFields(packet);
  if (peekedId !== packet.transferId || peekedType !== packet.type) violation('peekTransferId / peekPacketType disagree with decodePacket');
  const again = encodePacket(packet);
  if (!again.equals(expectedReencoding(packet, bytes))) violation(`re-encodes to different bytes: ${hex(again)}`);
}

interface DatagramInput {
  readonly bytes: Buffer;
  readonly maxDatagramBytes: number | undefined;
}

function describeDatagram({ bytes, maxDatagramBytes }: DatagramInput): string {
  return `${maxDatagramBytes === undefined ? '' : `maxDatagramBytes=${maxDatagramBytes} `}hex=${hex(bytes)}`;
}

function mutatedPacket(rng: Rng, type: PacketTypeName): Buffer {
  const valid = encodePacket(validPacket(rng, type));
  const other = encodePacket(validPacket(rng, rng.chance(0.5) ? type : rng.pick(PACKET_TYPE_NAMES)));
  const bytes = mutateBytes(rng, valid, { fields: packetFields(type, valid), others: [other], dictionary: DICTIONARY, maxLength: MAX_DATAGRAM_BYTES + 16 });
  // Usually with a correct CRC, so the input reaches the field decoders behind it.
  return rng.chance(0.85) ? seal(bytes) : bytes;
}

/** One target per packet type: valid packets of that type, mutated, mostly re-sealed, and random bodies behind its header. */
function packetTarget(type: PacketTypeName): AnyTarget {
  return defineTarget<DatagramInput, null>({
    name: `udp-${type.toLowerCase().replace('_', '-')}`,
    about: `decodePacket on ${type} packets: valid, mutated (bit flips, truncation, extension, field edits, insertion, deletion, splicing) and random bodies`,
    session: () => null,
    generate(rng) {
      const r = rng.below(20);
      let bytes: Buffer;
      if (r < 2) bytes = encodePacket(validPacket(rng, type));
      else if (r < 18) bytes = mutatedPacket(rng, type);
      else {
        bytes = rng.bytes(rng.int(12, rng.chance(0.9) ? 300 : 2000));
        bytes.writeUInt16BE(0x504c, 0);
        bytes[2] = UDP_VERSION;
        bytes[3] = PACKET_TYPES[type];
        seal(bytes);
      }
      return { bytes, maxDatagramBytes: rng.chance(0.05) ? rng.int(0, 2000) : undefined };
    },
    check: ({ bytes, maxDatagramBytes }) => checkDatagram(bytes, maxDatagramBytes),
    describe: describeDatagram,
  });
}

const udpAny = defineTarget<DatagramInput, null>({
  name: 'udp-any',
  about: 'decodePacket on random datagrams: random bytes, a valid header with any type byte, splices of two packets',
  session: () => null,
  generate(rng) {
    const r = rng.below(10);
    let bytes: Buffer;
    if (r < 4) bytes = rng.bytes(rng.size(1600));
    else if (r < 7) {
      bytes = rng.bytes(rng.int(12, 400));
      bytes.writeUInt16BE(0x504c, 0);
      bytes[2] = rng.chance(0.9) ? UDP_VERSION : rng.below(256);
      bytes[3] = rng.chance(0.5) ? rng.int(0, 9) : rng.below(256);
      if (rng.chance(0.9)) seal(bytes);
    } else {
      const a = encodePacket(validPacket(rng));
      const b = encodePacket(validPacket(rng));
      bytes = Buffer.concat([a.subarray(0, rng.below(a.length + 1)), b.subarray(rng.below(b.length + 1))]);
      if (rng.chance(0.8)) seal(bytes);
    }
    return { bytes, maxDatagramBytes: undefined };
  },
  check: ({ bytes, maxDatagramBytes }) => checkDatagram(bytes, maxDatagramBytes),
  describe: describeDatagram,
});

const udpRoundTrip = defineTarget<UdpPacket, null>({
  name: 'udp-roundtrip',
  about: 'every valid packet of every type: encodePacket → decodePacket gives the same packet, re-encoding gives the same bytes',
  session: () => null,
  generate: (rng) => validPacket(rng),
  check(packet) {
    const bytes = encodePacket(packet);
    const decoded = decodePacket(bytes);
    if (canonical(decoded) !== canonical(packet)) violation(`round trip changed the packet: ${canonical(decoded)}`);
    if (!encodePacket(decoded).equals(bytes)) violation('re-encoding gives different bytes');
  },
  describe: (packet) => canonical(packet),
});

interface SealedState {
  readonly server: PacketSealer;
  readonly client: PacketSealer;
  /** A client of the same transfer holding another key (an attacker who guessed wrong). */
  readonly stranger: PacketSealer;
}

interface SealedInput {
  /** What the server sealed, or undefined for a datagram made from scratch. */
  readonly original: UdpPacket | undefined;
  readonly sealed: Buffer | undefined;
  /** A second packet the server sealed, which the mutator may splice in (or use whole). */
  readonly other?: { readonly packet: UdpPacket; readonly sealed: Buffer };
  readonly bytes: Buffer;
}

/**
 * Opening sealed packets (§5.7) on the client: the server's sealed packets of every
 * type, mutated, and random datagrams with the sealed flag. Properties: only
 * PACKET_* errors; a datagram that opens is byte for byte one the server sealed
 * (any change, anywhere, fails authentication) and decodes to the packet sealed;
 * under another key nothing opens.
 */
const udpSealed = defineTarget<SealedInput, SealedState>({
  name: 'udp-sealed',
  about:
    'PacketSealer.open on sealed packets of every type: valid, mutated (every mutation of the byte mutator), random bodies with the sealed flag, and under a wrong key',
  session() {
    const key = Buffer.alloc(32, 7);
    return { server: new PacketSealer(key, 'server'), client: new PacketSealer(key, 'client'), stranger: new PacketSealer(Buffer.alloc(32, 8), 'client') };
  },
  generate(rng, state) {
    if (rng.chance(0.1)) {
      const bytes = rng.bytes(rng.int(0, rng.chance(0.9) ? 300 : 1600));
      if (bytes.length >= 4) {
        bytes.writeUInt16BE(0x504c, 0);
        bytes[2] = UDP_VERSION;
        bytes[3] = 0x80 | rng.int(0, 9);
      }
      return { original: undefined, sealed: undefined, bytes };
    }
    const original = validPacket(rng);
    const sealed = state.server.seal(original);
    if (rng.chance(0.15)) return { original, sealed, bytes: Buffer.from(sealed) };
    const otherPacket = validPacket(rng);
    const other = { packet: otherPacket, sealed: state.server.seal(otherPacket) };
    const bytes = mutateBytes(rng, sealed, { fields: [], others: [other.sealed], dictionary: DICTIONARY, maxLength: MAX_DATAGRAM_BYTES + 16 });
    return { original, sealed, other, bytes };
  },
  check({ original, sealed, other, bytes }, state) {
    try {
      state.stranger.open(Buffer.from(bytes));
      violation('a datagram opened under the wrong key');
    } catch (err) {
      expectProtocolError(err, (c) => c.startsWith('PACKET_'));
    }
    let opened: UdpPacket;
    try {
      opened = state.client.open(Buffer.from(bytes));
    } catch (err) {
      expectProtocolError(err, (c) => c.startsWith('PACKET_'));
      if (sealed !== undefined && bytes.equals(sealed)) violation(`the server's own sealed packet did not open: ${(err as Error).message}`);
      return;
    }
    // The mutator may splice the second sealed packet in whole: that one is genuine too.
    const genuine = sealed !== undefined && bytes.equals(sealed) ? original : other !== undefined && bytes.equals(other.sealed) ? other.packet : undefined;
    if (genuine === undefined) violation('a changed or made-up datagram authenticated');
    checkPacketFields(opened);
    if (canonical(opened) !== canonical(genuine)) violation(`opened to a different packet: ${canonical(opened)}`);
  },
  describe: ({ bytes }) => `hex=${hex(bytes)}`,
});

export const TARGETS: readonly AnyTarget[] = [
  lineDecoder,
  lineDecoderStream,
  commandParser,
  nicknameRules,
  eventDecoder,
  eventRoundTrip,
  udpAny,
  ...PACKET_TYPE_NAMES.map(packetTarget),
  udpRoundTrip,
  udpSealed,
];
