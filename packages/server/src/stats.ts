/** Counters the server keeps (read by logs, tests and the metrics endpoint). */
export class ServerStats {
  connectionsTotal = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Events queued to clients by kind; a broadcast adds its number of recipients once. */
  readonly eventsOut = new Map<string, number>();
  readonly commandsIn = new Map<string, number>();
  readonly rejected = new Map<string, number>();
  readonly disconnects = new Map<string, number>();
  /** TLS port outcomes: handshakes by protocol version (`TLSv1.3`), `handshake_failed`, `plain_text_on_tls_port`. */
  readonly tls = new Map<string, number>();

  count(map: Map<string, number>, key: string, n = 1): void {
    map.set(key, (map.get(key) ?? 0) + n);
  }
}
