/** Parses `host`, `host:port` or `[v6]:port`; blank is this machine. */
export function parseServer(text: string, defaultPort: number): { host: string; port: number } | string {
  const t = text.trim();
  if (t === '') return { host: '127.0.0.1', port: defaultPort };
  const m = /^\[([^\]]+)\](?::(\d+))?$/u.exec(t) ?? /^([^:\s]+)(?::(\d+))?$/u.exec(t);
  if (!m) return /^[0-9a-f:]+$/iu.test(t) ? { host: t, port: defaultPort } : `"${t}" is not a server address (host or host:port)`;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `port must be 1-65535`;
  return { host: m[1] ?? t, port };
}
