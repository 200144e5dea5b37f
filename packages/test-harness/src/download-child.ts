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
import { downloadFile } from '@parley/udp-transfer';
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

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2] ?? '{}') as ChildArgs;
  const c = await LineClient.connect({ host: a.host, port: a.port });
  c.sendLine(a.nick);
  await c.next((l) => l.startsWith(`welcome 2 ${a.nick} `), 5000, 'welcome');
  c.sendLine(`download,${a.file}`);
  const line = await c.next((l) => l.startsWith('offer ') || l.startsWith('error '), 10_000, 'an offer');
  const ev = decodeEvent(line);
  if (ev.type !== 'offer') throw new Error(`no offer: ${line}`);
  say({ event: 'offer', ...ev });
  let last = 0;
  const started = performance.now();
  const result = await downloadFile({
    host: a.host,
    port: a.relayPort ?? ev.udpPort,
    offer: ev,
    destPath: a.destPath,
    progressIntervalMs: 1,
    onProgress: (p) => {
      if (p.bytes - last >= 64 * 1024) {
        last = p.bytes;
        say({ event: 'progress', bytes: p.bytes });
      }
    },
  });
  say({ event: 'done', ms: Math.round(performance.now() - started), bytes: result.bytes, sha256: result.sha256 });
  c.end();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    say({ event: 'error', message: (err as Error).message, code: (err as { code?: string }).code });
    process.exit(1);
  },
);
