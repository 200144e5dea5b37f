/**
 * A whole download client in its own process, so a scenario can SIGKILL it
 * mid-transfer: joins the chat as a nickname, asks for a file, downloads it
 * over UDP (optionally through a relay port) and prints one JSON line per
 * event on stdout: {"event":"offer",…}, {"event":"progress","bytes":n},
 * {"event":"done",…} or {"event":"error","message":…}.
 *
 * argv: <json {host, port, nick, file, destPath, udpPortOverride?}>
 */
import { decodeEvent } from '@parley/protocol';
import { LineClient } from './line-client.js';

interface ChildArgs {
  readonly host: string;
  readonly port: number;
  readonly nick: string;
  readonly file: string;
  readonly destPath: string;
  /** Send the UDP request here (a relay) instead of the port in the offer. */
  readonly relayPort?: number;
}

function say(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

function progressBytes(p: unknown): number | undefined {
  if (typeof p === 'number') return p;
  if (typeof p === 'object' && p !== null) {
    const o = p as Record<string, unknown>;
    for (const k of ['bytes', 'received', 'receivedBytes', 'bytesReceived', 'done']) if (typeof o[k] === 'number') return o[k];
  }
  return undefined;
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2] ?? '{}') as ChildArgs;
  const udp = (await import('@parley/udp-transfer')) as Record<string, unknown>;
  const downloadFile = udp.downloadFile as ((o: Record<string, unknown>) => Promise<unknown>) | undefined;
  if (typeof downloadFile !== 'function') throw new Error('@parley/udp-transfer has no downloadFile yet');
  const c = await LineClient.connect({ host: a.host, port: a.port });
  c.sendLine(a.nick);
  await c.next((l) => l.startsWith(`welcome 1 ${a.nick} `), 5000, 'welcome');
  c.sendLine(`download,${a.file}`);
  const line = await c.next((l) => l.startsWith('offer ') || l.startsWith('error '), 10_000, 'an offer');
  const ev = decodeEvent(line);
  if (ev.type !== 'offer') throw new Error(`no offer: ${line}`);
  say({ event: 'offer', ...ev });
  let last = 0;
  const started = performance.now();
  await downloadFile({
    host: a.host,
    port: a.relayPort ?? ev.udpPort,
    offer: ev,
    destPath: a.destPath,
    onProgress: (p: unknown) => {
      const b = progressBytes(p);
      if (b !== undefined && b - last >= 16 * 1024) {
        last = b;
        say({ event: 'progress', bytes: b });
      }
    },
  });
  say({ event: 'done', ms: Math.round(performance.now() - started) });
  c.end();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    say({ event: 'error', message: (err as Error).message, code: (err as { code?: string }).code });
    process.exit(1);
  },
);
