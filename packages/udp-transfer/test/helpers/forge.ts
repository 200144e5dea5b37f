import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./forge-udp.py', import.meta.url));

/**
 * Whether datagrams with a forged source address can be sent here: a raw socket
 * needs root, and the sender is a few lines of Python. CI runs as root with
 * python3 (PARLEY_FORGE=require makes a missing one fail instead of skipping).
 */
export const FORGE_AVAILABLE = process.env.PARLEY_FORGE === 'require' || (process.getuid?.() === 0 && spawnSync('python3', ['--version']).status === 0);

/**
 * Sends `payloads` to 127.0.0.1:`dstPort` as UDP datagrams whose IPv4 source is
 * `src` (an address this process never bound), through a raw socket. Returns the
 * UDP payload bytes sent.
 */
export function forgeDatagrams(src: { address: string; port: number }, dstPort: number, payloads: readonly Buffer[]): number {
  const input = `${payloads.map((p) => p.toString('hex')).join('\n')}\n`;
  const out = execFileSync('python3', [SCRIPT, src.address, String(src.port), '127.0.0.1', String(dstPort)], { input });
  return Number(out.toString().trim());
}
