import { LEAVE_REASONS, type LeaveReason } from '@parley/protocol';

/**
 * The messages nodes exchange through Redis pub/sub. No user-controlled value
 * (nick, key, message text) can change a message's structure: presence and
 * private messages are one JSON object each (encoded by the Lua scripts with
 * `cjson`), a broadcast is a JSON header line followed by the encoded event.
 *
 * - `{"k":"J","seq":…,"node":…,"member":…,"key":…,"nick":…}`  joined
 * - `{"k":"L","seq":…,"node":…,"key":…,"nick":…,"reason":…}`  left
 * - `{"k":"P","key":…,"from":…,"text":…}`                     private (node channel)
 * - `B{"node":…,"member":…}\n<encoded event>`                  broadcast
 * - `H`                                                       echo (node channel)
 */
export type BusMessage =
  | { readonly kind: 'broadcast'; readonly node: string; readonly member: string; readonly frame: Buffer }
  | { readonly kind: 'joined'; readonly seq: number; readonly node: string; readonly member: string; readonly key: string; readonly nick: string }
  | { readonly kind: 'left'; readonly seq: number; readonly node: string; readonly key: string; readonly nick: string; readonly reason: LeaveReason }
  | { readonly kind: 'private'; readonly key: string; readonly from: string; readonly text: string }
  | { readonly kind: 'echo' };

const NL = 0x0a;
const B = 0x42;
const H = 0x48;
const BRACE = 0x7b;

/** `B{"node":…,"member":…}\n<frame>`: the event is encoded once, by the node it comes from. JSON has no raw LF. */
export function encodeBroadcast(node: string, member: string, frame: Buffer): Buffer {
  const head = `B${JSON.stringify({ node, member })}\n`;
  const out = Buffer.allocUnsafe(Buffer.byteLength(head) + frame.length);
  const n = out.write(head, 0, 'utf8');
  frame.copy(out, n);
  return out;
}

/** Parses a bus message; undefined for anything malformed (logged and dropped by the caller). */
export function parseBusMessage(msg: Buffer): BusMessage | undefined {
  const first = msg[0];
  if (first === H && msg.length === 1) return { kind: 'echo' };
  if (first === B) {
    const nl = msg.indexOf(NL);
    if (nl < 0) return undefined;
    const head = json(msg.toString('utf8', 1, nl));
    if (!head || !str(head.node) || !str(head.member)) return undefined;
    return { kind: 'broadcast', node: head.node, member: head.member, frame: msg.subarray(nl + 1) };
  }
  if (first !== BRACE) return undefined;
  const m = json(msg.toString('utf8'));
  if (!m) return undefined;
  switch (m.k) {
    case 'P':
      if (!str(m.key) || !str(m.from) || !str(m.text)) return undefined;
      return { kind: 'private', key: m.key, from: m.from, text: m.text };
    case 'J':
      if (!seq(m.seq) || !str(m.node) || !str(m.member) || !str(m.key) || !str(m.nick)) return undefined;
      return { kind: 'joined', seq: m.seq, node: m.node, member: m.member, key: m.key, nick: m.nick };
    case 'L':
      if (!seq(m.seq) || !str(m.node) || !str(m.key) || !str(m.nick) || !str(m.reason)) return undefined;
      if (!(LEAVE_REASONS as readonly string[]).includes(m.reason)) return undefined;
      return { kind: 'left', seq: m.seq, node: m.node, key: m.key, nick: m.nick, reason: m.reason as LeaveReason };
    default:
      return undefined;
  }
}

function json(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function str(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

function seq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** The event kind of an encoded event: its first word. */
export function frameKind(frame: Buffer): string {
  const sp = frame.indexOf(0x20);
  return frame.toString('latin1', 0, sp < 0 ? Math.max(0, frame.length - 1) : sp);
}
