/** Counters the server keeps (read by logs, tests and the metrics endpoint). */
export class ServerStats {
  connectionsTotal = 0;
  bytesIn = 0;
  readonly commandsIn = new Map<string, number>();
  readonly rejected = new Map<string, number>();
  readonly disconnects = new Map<string, number>();

  count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }
}
