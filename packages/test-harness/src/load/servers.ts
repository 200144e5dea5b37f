import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultServerBin, ServerProcess } from '../server-process.js';
import type { Dialect, PoolTls } from './pool.js';

/** A server under load: where it listens and which process to measure. */
export interface LoadTarget {
  readonly name: string;
  readonly dialect: Dialect;
  readonly host: string;
  readonly port: number;
  readonly pid: number | undefined;
  /** How it was started, for the results. */
  readonly command: string;
  /** Set: the clients connect over TLS and verify the certificate against this. */
  readonly tls?: PoolTls;
  stop(): Promise<void>;
}

/** A spawned Parley server; with `tls`, it also listens for TLS on `tlsPort` with a self-signed certificate. */
export interface ParleyTarget extends LoadTarget {
  readonly tlsPort?: number;
  /** PEM of the self-signed certificate (the load clients' CA). */
  readonly tlsCert?: string;
  /** SHA-256 fingerprint `parley-server self-signed` printed. */
  readonly tlsFingerprint?: string;
}

/** How long `parley-server self-signed` may take to write a certificate. */
const SELF_SIGNED_TIMEOUT_MS = 20_000;

/** Flags a Parley server under load gets: no per-client rate limit in the way, quiet logs, room for 10 000+ clients. */
export const PARLEY_LOAD_FLAGS = ['--rate', '1000000', '--burst', '1000000', '--max-clients', '20000', '--log-level', 'warn'] as const;

/** How long ngIRCd has to start listening. */
const NGIRCD_READY_TIMEOUT_MS = 10_000;

/**
 * Starts parley-server with the load flags. With `tls`, it first writes a
 * self-signed certificate with `parley-server self-signed` (names 127.0.0.1
 * and localhost) and listens for TLS as well, on a second free port: one
 * process, so plain and TLS runs measure the same server.
 */
export async function startParley(options: { bin?: string; extraArgs?: readonly string[]; cpuProfDir?: string; tls?: boolean }): Promise<ParleyTarget> {
  const filesDir = mkdtempSync(join(tmpdir(), 'parley-load-'));
  // The key pair lives beside the files folder, not in it (nothing in it is ever offered).
  const certDir = mkdtempSync(join(tmpdir(), 'parley-load-tls-'));
  const cleanup = (): void => {
    rmSync(filesDir, { recursive: true, force: true });
    rmSync(certDir, { recursive: true, force: true });
  };
  const bin = options.bin ?? defaultServerBin();
  let tls: { port: number; cert: string; fingerprint: string } | undefined;
  const tlsArgs: string[] = [];
  try {
    if (options.tls) {
      const cert = join(certDir, 'cert.pem');
      const key = join(certDir, 'key.pem');
      const made = spawnSync(process.execPath, [bin, 'self-signed', '--cert', cert, '--key', key, '--name', '127.0.0.1', '--name', 'localhost'], {
        encoding: 'utf8',
        timeout: SELF_SIGNED_TIMEOUT_MS,
      });
      if (made.status !== 0) throw new Error(`parley-server self-signed failed (status ${made.status}): ${made.stderr || made.error?.message}`);
      tls = { port: await freePort(), cert: readFileSync(cert, 'utf8'), fingerprint: /SHA256 fingerprint: (\S+)/u.exec(made.stdout)?.[1] ?? 'unknown' };
      tlsArgs.push('--tls-port', String(tls.port), '--tls-cert', cert, '--tls-key', key);
    }
  } catch (err) {
    cleanup();
    throw err;
  }
  const args = [...PARLEY_LOAD_FLAGS, ...tlsArgs, ...(options.extraArgs ?? [])];
  const nodeArgs = options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(options.cpuProfDir)}`] : [];
  // Without TLS: take a free port and wait until it accepts connections (builds older than 4317267 hid
  // the ready line under --log-level warn). With TLS: wait for the ready line, printed once both ports listen.
  const server = await new ServerProcess({ bin, filesDir, udpPort: -1, args, nodeArgs, port: tls ? 0 : await freePort() }).start().catch((err: unknown) => {
    cleanup();
    throw err;
  });
  const shown = args.map((a) => (a.startsWith(certDir) ? a.replace(certDir, '<tmp>') : a)).map((a, i, all) => (all[i - 1] === '--tls-port' ? '<free>' : a));
  return {
    name: 'Parley',
    dialect: 'parley',
    host: server.host,
    port: server.port,
    pid: server.pid,
    command: `node ${nodeArgs.join(' ')}${nodeArgs.length ? ' ' : ''}packages/server/dist/bin.js --host 127.0.0.1 --port <free> --udp-port -1 ${shown.join(' ')}`,
    ...(tls ? { tlsPort: tls.port, tlsCert: tls.cert, tlsFingerprint: tls.fingerprint } : {}),
    stop: async () => {
      await server.stop();
      cleanup();
    },
  };
}

/**
 * The same server seen through its TLS port: clients verify its self-signed
 * certificate. Stopping it does nothing (stop the plain target).
 */
export function overTls(target: ParleyTarget): LoadTarget {
  if (target.tlsPort === undefined || target.tlsCert === undefined) throw new Error('this Parley target was started without TLS (startParley({ tls: true }))');
  return { ...target, name: 'Parley TLS', port: target.tlsPort, tls: { ca: target.tlsCert }, stop: async () => undefined };
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** bench/load/ngircd.conf, found from the package in the monorepo. */
export function ngircdConfTemplate(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of [join(here, '..', '..', '..', '..', 'bench', 'load'), join(here, '..', '..', 'bench')]) {
    const p = join(up, 'ngircd.conf');
    if (existsSync(p)) return p;
  }
  throw new Error('bench/load/ngircd.conf not found');
}

/**
 * Starts ngIRCd in the foreground as an unprivileged user (nobody) with a
 * copy of bench/load/ngircd.conf on a free port, and waits until it accepts
 * connections.
 */
export async function startNgircd(): Promise<LoadTarget> {
  const bin = ['/usr/sbin/ngircd', '/usr/bin/ngircd'].find((p) => existsSync(p));
  if (!bin)
    throw new Error(
      'ngircd is not installed: printf "#!/bin/sh\\nexit 101\\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && apt-get install -y ngircd',
    );
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ngircd-'));
  chmodSync(dir, 0o755);
  const conf = join(dir, 'ngircd.conf');
  writeFileSync(conf, readFileSync(ngircdConfTemplate(), 'utf8').replace(/^\s*Ports = \d+$/mu, `\tPorts = ${port}`));
  chmodSync(conf, 0o644);
  const asRoot = process.getuid?.() === 0;
  const argv = asRoot
    ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--init-groups', bin, '--nodaemon', '--config', conf]
    : [bin, '--nodaemon', '--config', conf];
  if (asRoot && spawnSync('setpriv', ['--version']).status !== 0) throw new Error('setpriv (util-linux) is needed to run ngircd unprivileged');
  const child: ChildProcess = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (output += s));
  let exited = false;
  const exit = new Promise<void>((res) =>
    child.once('exit', () => {
      exited = true;
      res();
    }),
  );
  const deadline = Date.now() + NGIRCD_READY_TIMEOUT_MS;
  for (;;) {
    if (exited) throw new Error(`ngircd exited before it listened:\n${output}`);
    const ok = await new Promise<boolean>((res) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`ngircd did not listen within NGIRCD_READY_TIMEOUT_MS (${NGIRCD_READY_TIMEOUT_MS} ms):\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    name: 'ngIRCd',
    dialect: 'irc',
    host: '127.0.0.1',
    port,
    pid: child.pid,
    command: `${argv.slice(0, asRoot ? 4 : 0).join(' ')} ngircd --nodaemon --config bench/load/ngircd.conf (port ${port})`.trim(),
    stop: async () => {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The `ngircd --version` line, for the results. */
export function ngircdVersion(): string {
  const r = spawnSync('ngircd', ['--version'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n')[0]?.trim() ?? 'unknown';
}
