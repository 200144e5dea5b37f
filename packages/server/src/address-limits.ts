import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { literalFamily } from '@parley/udp-transfer';

export interface AddressLimitOptions {
  /** Connections at once from one address (IPv4) or one /64 (IPv6), joined or not. */
  readonly maxClientsPerAddress: number;
  /** Of those, connections that have not chosen a nickname yet. */
  readonly maxUnjoinedPerAddress: number;
  /** Addresses and CIDR ranges (`127.0.0.0/8`, `::1`, `2001:db8::/32`) that no per-address limit applies to. */
  readonly trustedAddresses: readonly string[];
}

/** Why a connection was turned away, for its `bye TOO_MANY_CONNECTIONS`. */
export type AddressRefusal = { readonly ok: false; readonly text: string };
/** An admitted connection's ticket: give it back with `joined` and `closed`. */
export interface AddressTicket {
  readonly ok: true;
  /** The address as counted (IPv4 address, or IPv6 /64 prefix); undefined when not counted. */
  readonly key: string | undefined;
}

interface Count {
  all: number;
  unjoined: number;
}

/**
 * Counts connections per peer address so one address cannot take every slot.
 * IPv6 peers are counted per /64 (one subscriber's usual allocation), an
 * IPv4-mapped IPv6 address as its IPv4 address. Trusted addresses are not
 * counted. Memory: one small entry per address with a connection open.
 */
export class AddressLimits {
  readonly #counts = new Map<string, Count>();
  readonly #trusted = new BlockList();

  constructor(private readonly options: AddressLimitOptions) {
    for (const entry of options.trustedAddresses) addTrusted(this.#trusted, entry);
  }

  /** Addresses being counted now. */
  get size(): number {
    return this.#counts.size;
  }

  /** Admits a new connection from `address` (an IP, without port), or says why not. */
  admit(address: string | undefined): AddressTicket | AddressRefusal {
    const key = this.#key(address);
    if (key === undefined) return { ok: true, key: undefined };
    const o = this.options;
    const c = this.#counts.get(key) ?? { all: 0, unjoined: 0 };
    if (c.all >= o.maxClientsPerAddress) {
      return { ok: false, text: `too many connections from your address (${o.maxClientsPerAddress}); close some and try again` };
    }
    if (c.unjoined >= o.maxUnjoinedPerAddress) {
      return { ok: false, text: `too many connections from your address are still choosing a nickname (${o.maxUnjoinedPerAddress}); finish one and try again` };
    }
    c.all += 1;
    c.unjoined += 1;
    this.#counts.set(key, c);
    return { ok: true, key };
  }

  /** The connection chose its nickname: its un-joined slot is free. */
  joined(ticket: AddressTicket): void {
    const c = ticket.key === undefined ? undefined : this.#counts.get(ticket.key);
    if (c) c.unjoined -= 1;
  }

  /** The connection closed. `wasJoined`: it had chosen a nickname (so `joined` was called). */
  closed(ticket: AddressTicket, wasJoined: boolean): void {
    if (ticket.key === undefined) return;
    const c = this.#counts.get(ticket.key);
    if (!c) return;
    c.all -= 1;
    if (!wasJoined) c.unjoined -= 1;
    if (c.all <= 0) this.#counts.delete(ticket.key);
  }

  #key(address: string | undefined): string | undefined {
    if (!address) return undefined;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/iu.exec(address);
    const ip = mapped ? (mapped[1] as string) : address;
    if (isIPv4(ip)) return this.#trusted.check(ip, 'ipv4') ? undefined : ip;
    if (isIPv6(ip)) return this.#trusted.check(ip, 'ipv6') ? undefined : ipv6Prefix64(ip);
    return undefined;
  }
}

/** `2001:db8:1:2:3:4:5:6` → `2001:db8:1:2::/64` (the first four groups, expanded `::` included). */
function ipv6Prefix64(ip: string): string {
  const bare = ip.split('%')[0] as string;
  const [head = '', tail] = bare.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/u, ''))
    .join(':')}::/64`;
}

function addTrusted(list: BlockList, entry: string): void {
  const [ip = '', bits] = entry.trim().split('/');
  const type = literalFamily(ip);
  if (!type) throw new RangeError(`trusted address "${entry}" is not an IP address or CIDR range`);
  if (bits === undefined) {
    list.addAddress(ip, type);
    return;
  }
  const prefix = Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (type === 'ipv4' ? 32 : 128))
    throw new RangeError(`trusted range "${entry}" has a bad prefix length`);
  list.addSubnet(ip, prefix, type);
}

/** Checks a list of trusted addresses (the CLI calls it to refuse a bad one at start). */
export function checkTrustedAddresses(entries: readonly string[]): void {
  const list = new BlockList();
  for (const e of entries) addTrusted(list, e);
}
