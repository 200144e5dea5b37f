/**
 * Parses `host`, `host:port` or `[v6]:port`, optionally as `tls://…` (TLS,
 * whose default port is `defaultTlsPort`); blank is this machine.
 */
export function parseServer(text: string, defaultPort: number, defaultTlsPort = defaultPort): { host: string; port: number; tls: boolean } | string {
  let t = text.trim();
  const tls = /^tls:\/\//iu.test(t);
  if (tls) t = t.slice('tls://'.length).replace(/\/$/u, '');
  else if (/^[a-z][a-z0-9+.-]*:\/\//iu.test(t)) return `"${t}": the only address scheme is tls:// (host:port alone is plain)`;
  const port0 = tls ? defaultTlsPort : defaultPort;
  if (t === '') return { host: '127.0.0.1', port: port0, tls };
  const m = /^\[([^\]]+)\](?::(\d+))?$/u.exec(t) ?? /^([^:\s/]+)(?::(\d+))?$/u.exec(t);
  if (!m) return /^[0-9a-f:]+$/iu.test(t) ? { host: t, port: port0, tls } : `"${t}" is not a server address (host, host:port or tls://host:port)`;
  const port = m[2] === undefined ? port0 : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `port must be 1-65535`;
  return { host: m[1] ?? t, port, tls };
}
