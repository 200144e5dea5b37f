/** host:port → parts (IPv6 in brackets). */
export function parseTarget(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/u.exec(value);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--target must be host:port (got ${value})`);
  return { host: (m[1] ?? m[2]) as string, port };
}
