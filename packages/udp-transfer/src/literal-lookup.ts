import { lookup as dnsLookup, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';

/**
 * Every `send` on an unconnected socket resolves its address first; ours are
 * always the IP literals `rinfo` gave us, so answer at once instead of a
 * `dns.lookup` and a `nextTick` per datagram.
 */
let lastLiteral = '';
let lastFamily = 0;
export function literalLookup(
  hostname: string,
  options: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  if (hostname === lastLiteral) {
    callback(null, hostname, lastFamily);
    return;
  }
  const family = isIP(hostname);
  if (family !== 0) {
    lastLiteral = hostname;
    lastFamily = family;
    callback(null, hostname, family);
    return;
  }
  dnsLookup(hostname, options as LookupOptions, (err, address, fam) => callback(err, address as string, fam as number));
}
