import { LEAVE_REASONS, type LeaveReason } from '@parley/protocol';

/** A message on the bus channel or on a node's own channel, parsed. */
export type BusMessage =
  | { readonly kind: 'broadcast'; readonly node: string; readonly member: string; readonly frame: Buffer }
  | { readonly kind: 'joined'; readonly seq: number; readonly node: string; readonly member: string; readonly key: string; readonly nick: string }
  | { readonly kind: 'left'; readonly seq: number; readonly node: string; readonly key: string; readonly nick: string; readonly reason: LeaveReason }
  | { readonly kind: 'private'; readonly key: string; readonly from: string; readonly text: string }
  | { readonly kind: 'echo' };

const NL = 0x0a;

/** `B <node> <member>\n<frame>`: the event is encoded once, by the node it comes from. */
export function encodeBroadcast(node: string, member: string, frame: Buffer): Buffer {
  const head = `B ${node} ${member}\n`;
  const out = Buffer.allocUnsafe(Buffer.byteLength(head) + frame.length);
  const n = out.write(head, 0, 'utf8');
  frame.copy(out, n);
  return out;
}

/** The payload of a private message after `P <key> ` (added by the PRIVATE script). */
export function privatePayload(from: string, text: string): string {
  return `${from} ${text}`;
}

/** Parses a bus message; undefined for anything malformed (logged and dropped by the caller). */
export function parseBusMessage(msg: Buffer): BusMessage | undefined {
  const kind = msg[0];
  if (kind === 0x42 /* B */) {
    const nl = msg.indexOf(NL);
    if (nl < 0) return undefined;
    const [, node, member] = msg.toString('utf8', 0, nl).split(' ');
    if (!node || !member) return undefined;
    return { kind: 'broadcast', node, member, frame: msg.subarray(nl + 1) };
  }
  if (kind === 0x48 /* H */ && msg.length === 1) return { kind: 'echo' };
  const line = msg.toString('utf8');
  if (kind === 0x50 /* P */) {
    const a = line.indexOf(' ', 2);
    const b = a < 0 ? -1 : line.indexOf(' ', a + 1);
    if (b < 0) return undefined;
    return { kind: 'private', key: line.slice(2, a), from: line.slice(a + 1, b), text: line.slice(b + 1) };
  }
  const f = line.split(' ');
  const seq = Number(f[1]);
  if (!Number.isSafeInteger(seq)) return undefined;
  if (kind === 0x4a /* J */ && f.length === 6) {
    const [, , node, member, key, nick] = f as [string, string, string, string, string, string];
    return { kind: 'joined', seq, node, member, key, nick };
  }
  if (kind === 0x4c /* L */ && f.length === 6) {
    const [, , node, key, nick, reason] = f as [string, string, string, string, string, string];
    if (!(LEAVE_REASONS as readonly string[]).includes(reason)) return undefined;
    return { kind: 'left', seq, node, key, nick, reason: reason as LeaveReason };
  }
  return undefined;
}
