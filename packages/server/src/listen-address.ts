/**
 * The default listening address is `::`: on Linux (and the BSDs and macOS with
 * their defaults) one socket bound there takes IPv6 and IPv4 clients, the
 * latter as `::ffff:a.b.c.d`. A kernel without IPv6 (booted with
 * `ipv6.disable=1`, or a container without it) refuses `::`; then the server
 * falls back to `0.0.0.0` and says so, rather than not starting.
 */
export const DUAL_STACK_HOST = '::';
export const IPV4_ANY_HOST = '0.0.0.0';

/** Errors that mean "this machine has no IPv6", not "something else is wrong". */
const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT']);

export function isNoIpv6Error(err: unknown): boolean {
  return NO_IPV6.has(String((err as NodeJS.ErrnoException | undefined)?.code));
}

/**
 * Runs `bind(host)`; when `host` is the dual-stack default and the kernel has no
 * IPv6, runs `bind('0.0.0.0')` instead. Returns what `bind` returned and the host it used.
 */
export async function bindWithFallback<T>(
  host: string,
  bind: (host: string) => Promise<T>,
  onFallback: (err: unknown) => void,
): Promise<{ value: T; host: string }> {
  try {
    return { value: await bind(host), host };
  } catch (err) {
    if (host !== DUAL_STACK_HOST || !isNoIpv6Error(err)) throw err;
    onFallback(err);
    return { value: await bind(IPV4_ANY_HOST), host: IPV4_ANY_HOST };
  }
}
