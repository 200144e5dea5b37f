// The README's "Deploy to a VM", followed for real under a real systemd: a
// minimal Debian 12 (debootstrap, cached between runs) is booted with
// `systemd-nspawn --boot` in a network namespace of its own, the README's VM
// commands run inside it through nsenter, and the service is checked from
// outside over the veth link, as a user on another machine would reach it.
//
// Needs root, debootstrap, systemd-nspawn and iproute2 (CI installs them and sets
// PARLEY_SYSTEMD_TEST=require, so there a missing piece fails instead of skipping).
// The only substitution: nodejs.org cannot be reached here, so the README's
// `curl … | tar -xz` line reads a tarball of this machine's own Node (same
// layout as the official one) instead of downloading it; and the packages the
// README's apt-get line names are put in the image by debootstrap.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeEvent, type ServerEvent } from '@parley/protocol';
import { downloadFile } from '@parley/udp-transfer';
import { RawClient } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SUITE = 'bookworm';
/** What the image holds: a booting systemd, the README's apt-get line, Debian's own (too old) nodejs, Redis for cluster mode. */
const PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'ca-certificates', 'curl', 'nodejs', 'redis-server'];
const CACHE = process.env.PARLEY_ROOTFS_CACHE ?? '/var/cache/parley-ci';
const MIRROR = process.env.PARLEY_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why this machine cannot boot a container, or undefined when it can. */
function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (systemd-nspawn and ip netns need root)';
  for (const cmd of ['debootstrap', 'systemd-nspawn', 'nsenter', 'ip'])
    if (!has(cmd)) return `${cmd} is not installed (Debian: debootstrap, systemd-container, util-linux, iproute2)`;
  return undefined;
}

const why = unavailable();
if (why !== undefined && process.env.PARLEY_SYSTEMD_TEST === 'require') {
  throw new Error(`PARLEY_SYSTEMD_TEST=require, but a systemd container cannot run here: ${why}`);
}

function run(
  cmd: string,
  args: string[],
  opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {},
): { status: number; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 });
  const res = { status: r.status ?? -1, out: r.stdout ?? '', err: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
  if (!opts.allowFail && res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${res.status}:\n${res.err}${res.out}`);
  return res;
}

/** The Debian image, made once per package list and reused (debootstrap takes about a minute). */
function cachedRootfs(): string {
  const key = createHash('sha256')
    .update(`${SUITE} minbase ${PACKAGES.join(',')}`)
    .digest('hex')
    .slice(0, 12);
  const dir = join(CACHE, `debian-${SUITE}-${key}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  run('debootstrap', ['--variant=minbase', `--include=${PACKAGES.join(',')}`, SUITE, tmp, MIRROR], { timeoutMs: 900_000 });
  writeFileSync(join(tmp, '.complete'), `${new Date().toISOString()}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/** The first ```sh block after `marker` in the README's section `heading`, line by line. */
function readmeCommands(heading: string, marker: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(heading));
  const from = section.slice(section.indexOf(marker));
  const block = /```sh\n([\s\S]*?)```/u.exec(from)?.[1];
  if (block === undefined) throw new Error(`README: no \`\`\`sh block after "${marker}" in "${heading}"`);
  return block
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
}

/**
 * The README's lines as they run in the container: the apt-get line checks that
 * its packages are installed (the container has no route to a mirror), and the
 * nodejs.org download reads the local tarball.
 */
function adapt(line: string): string {
  if (/^(apt-get update && )?apt-get install -y /u.test(line)) {
    const pkgs = line
      .replace(/^.*apt-get install -y /u, '')
      .replace(/#.*$/u, '')
      .trim();
    return `dpkg -s ${pkgs} >/dev/null`;
  }
  if (line.startsWith('curl -fsSL "https://nodejs.org/dist/')) return line.replace(/^curl -fsSL "[^"]+"/u, 'cat /root/node-local.tar.gz');
  return line;
}

interface Machine {
  dir: string;
  root: string;
  netns: string;
  hostIf: string;
  v4: string;
  v6: string;
  nspawn: ChildProcess;
  console: string[];
  leader: number;
}

let m: Machine | undefined;

function inside(script: string, opts: { allowFail?: boolean; timeoutMs?: number } = {}): { status: number; out: string; err: string } {
  if (m === undefined) throw new Error('no machine');
  return run(
    'nsenter',
    ['-t', String(m.leader), '-a', 'env', '-i', `PATH=${CONTAINER_PATH}`, 'HOME=/root', 'LANG=C.UTF-8', 'sh', '-c', `cd /root && ${script}`],
    opts,
  );
}

function until<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  return vi.waitFor(
    () => {
      const v = probe();
      if (v === undefined) throw new Error(`timed out waiting for ${what}${m ? `\n--- console ---\n${m.console.join('').slice(-4000)}` : ''}`);
      return v;
    },
    { timeout: timeoutMs, interval: 200 },
  );
}

function journal(): string[] {
  return inside('journalctl -u parley-server -o cat --no-pager', { allowFail: true })
    .out.split('\n')
    .filter((l) => l.length > 0);
}

function readyCount(): number {
  return journal().filter((l) => l.includes('parley-server ready')).length;
}

async function boot(): Promise<Machine> {
  const base = cachedRootfs();
  const dir = mkdtempSync(join(process.env.PARLEY_SYSTEMD_WORKDIR ?? '/var/tmp', 'parley-systemd-'));
  const root = join(dir, 'root');
  // A fresh copy per run: the cached image is never booted.
  run('cp', ['-a', '--reflink=auto', base, root], { timeoutMs: 300_000 });
  rmSync(join(root, '.complete'), { force: true });

  // What the user copies to the VM: the server bundle, and (standing in for nodejs.org) a Node tarball.
  run(process.execPath, [join(ROOT, 'scripts', 'bundle-server.mjs'), '--out', dir, '--skip-build'], { timeoutMs: 300_000 });
  cpSync(join(dir, 'parley-server.tar.gz'), join(root, 'root', 'parley-server.tar.gz'));
  const nodeDir = join(dir, `node-${process.version}-linux-x64`);
  mkdirSync(join(nodeDir, 'bin'), { recursive: true });
  cpSync(process.execPath, join(nodeDir, 'bin', 'node'));
  run('tar', ['-czf', join(root, 'root', 'node-local.tar.gz'), '-C', dir, `node-${process.version}-linux-x64`], { timeoutMs: 300_000 });

  // Its own network: a veth pair, IPv4 and IPv6, as a VM on a LAN.
  const n = (process.pid % 200) + 20;
  const netns = `parley-sd-${process.pid}`;
  const hostIf = `psd${process.pid}`.slice(0, 15);
  const v4 = `10.213.${n}.2`;
  const v6 = `fd00:213:${n.toString(16)}::2`;
  run('ip', ['netns', 'add', netns]);
  run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  run('ip', ['addr', 'add', `10.213.${n}.1/24`, 'dev', hostIf]);
  run('ip', ['-6', 'addr', 'add', `fd00:213:${n.toString(16)}::1/64`, 'dev', hostIf, 'nodad']);
  run('ip', ['link', 'set', hostIf, 'up']);
  run('ip', ['-n', netns, 'addr', 'add', `${v4}/24`, 'dev', 'eth0']);
  run('ip', ['-n', netns, '-6', 'addr', 'add', `${v6}/64`, 'dev', 'eth0', 'nodad']);
  run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
  run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);

  const consoleOut: string[] = [];
  const nspawn = spawn(
    'systemd-nspawn',
    [
      '--boot',
      '--register=no',
      '--keep-unit',
      '--quiet',
      '--console=read-only',
      `--directory=${root}`,
      `--machine=parley-ci-${process.pid}`,
      `--network-namespace-path=/run/netns/${netns}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  nspawn.stdout?.setEncoding('utf8').on('data', (d: string) => consoleOut.push(d));
  nspawn.stderr?.setEncoding('utf8').on('data', (d: string) => consoleOut.push(d));
  const machine: Machine = { dir, root, netns, hostIf, v4, v6, nspawn, console: consoleOut, leader: 0 };
  m = machine;
  // PID 1 of the container is nspawn's child running systemd.
  machine.leader = await until("the container's systemd", () => {
    if (nspawn.exitCode !== null) throw new Error(`systemd-nspawn exited ${nspawn.exitCode}:\n${consoleOut.join('')}`);
    const pids = run('ps', ['--ppid', String(nspawn.pid), '-o', 'pid=,comm='], { allowFail: true })
      .out.trim()
      .split('\n');
    const init = pids.map((l) => l.trim().split(/\s+/u)).find(([, comm]) => comm === 'systemd');
    return init ? Number(init[0]) : undefined;
  });
  await until(
    'the container to finish booting',
    () => {
      const s = inside('systemctl is-system-running', { allowFail: true }).out.trim();
      return s === 'running' || s === 'degraded' ? s : undefined;
    },
    120_000,
  );
  return machine;
}

async function shutdown(): Promise<void> {
  const machine = m;
  if (machine === undefined) {
    // boot() failed before the container started: remove what it may have made.
    run('ip', ['link', 'del', `psd${process.pid}`.slice(0, 15)], { allowFail: true });
    run('ip', ['netns', 'del', `parley-sd-${process.pid}`], { allowFail: true });
    return;
  }
  if (machine.nspawn.exitCode === null) {
    const exited = new Promise<void>((r) => machine.nspawn.once('exit', () => r()));
    machine.nspawn.kill('SIGTERM'); // nspawn asks the container's systemd to power off
    const t = setTimeout(() => machine.nspawn.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(t);
  }
  run('ip', ['link', 'del', machine.hostIf], { allowFail: true });
  run('ip', ['netns', 'del', machine.netns], { allowFail: true });
  rmSync(machine.dir, { recursive: true, force: true });
}

describe.skipIf(why !== undefined)(`the README's VM deploy under a real systemd (Debian 12, systemd-nspawn)${why ? ` — skipped: ${why}` : ''}`, () => {
  beforeAll(async () => {
    await boot();
  }, 1_200_000);

  afterAll(async () => {
    await shutdown();
  }, 60_000);

  it("runs the README's commands as written, and the service comes up active and ready", async () => {
    const lines = readmeCommands('## Deploy to a VM', 'On the VM');
    expect(lines.some((l) => l.startsWith('systemctl enable --now parley-server'))).toBe(true);
    expect(
      lines.some((l) => /apt-get install -y nodejs/u.test(l)),
      "the README must not install Debian's Node 18",
    ).toBe(false);
    const r = inside(`set -e\n${lines.map(adapt).join('\n')}`, { allowFail: true, timeoutMs: 300_000 });
    expect(r.status, `README commands failed:\n${r.err}\n${r.out}`).toBe(0);
    await until('"parley-server ready" in the journal', () => (readyCount() >= 1 ? true : undefined));
    expect(inside('systemctl is-active parley-server', { allowFail: true }).out.trim()).toBe('active');
    expect(inside('systemctl show -p NRestarts --value parley-server').out.trim()).toBe('0');
    // The unit's Documentation= names files that exist.
    const docs = inside('systemctl show -p Documentation --value parley-server').out.trim().split(/\s+/u);
    const local = docs.filter((d) => d.startsWith('file:'));
    expect(local.length).toBeGreaterThan(0);
    for (const d of local) expect(inside(`test -s ${d.slice('file:'.length)}`, { allowFail: true }).status, d).toBe(0);
  }, 360_000);

  it('writes its logs to the journal as JSON lines, the first of them saying where it listens', () => {
    const lines = journal().filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    const parsed = lines.map((l) => JSON.parse(l) as { msg: string; host?: string; port?: number });
    const ready = parsed.find((p) => p.msg.startsWith('parley-server ready'));
    expect(ready).toMatchObject({
      host: '::',
      port: 55000,
      tlsPort: 55443,
      msg: 'parley-server ready: chat on [::]:55000, TLS chat on [::]:55443, downloads on udp 57000',
    });
  });

  it('serves chat to another machine over IPv4 and IPv6 on the same port', async () => {
    const machine = m as Machine;
    const ann = await RawClient.join(55000, 'ann', machine.v4);
    const ben = await RawClient.join(55000, 'ben', machine.v6);
    ann.send('broadcast,hello from v4');
    await ben.waitFor((l) => l === 'broadcast ann :hello from v4');
    ben.send('ann,hello from v6');
    await ann.waitFor((l) => l === 'private ben ann :hello from v6');
    ann.send('exit');
    ben.send('exit');
    await ann.waitFor((l) => l.startsWith('bye QUIT'));
    await ben.waitFor((l) => l.startsWith('bye QUIT'));
  });

  it('serves a UDP download that verifies, from the state directory, to both address families', async () => {
    const machine = m as Machine;
    const content = randomBytes(3_000_000);
    // /var/lib/parley is the unit's StateDirectory (with DynamicUser, it lives in /var/lib/private).
    writeFileSync(join(machine.root, 'var', 'lib', 'private', 'parley', 'files', 'vm-test.bin'), content);
    for (const host of [machine.v4, machine.v6]) {
      const c = await RawClient.join(55000, `dl${host.includes(':') ? 6 : 4}`, host);
      const offer = decodeEvent(await c.ask('download,vm-test.bin', (l) => l.startsWith('offer '))) as Extract<ServerEvent, { type: 'offer' }>;
      const dest = join(machine.dir, `got-${host.includes(':') ? 6 : 4}.bin`);
      await downloadFile({ host, offer, destPath: dest });
      expect(
        createHash('sha256')
          .update(await readFile(dest))
          .digest('hex'),
      ).toBe(createHash('sha256').update(content).digest('hex'));
      c.send('exit');
      await c.waitFor((l) => l.startsWith('bye QUIT'));
    }
  });

  it('serves chat over TLS with the certificate the README made, whose key only the service group can read; a TLS download is sealed; reload keeps users', async () => {
    const machine = m as Machine;
    const certPem = readFileSync(join(machine.root, 'etc', 'parley', 'tls', 'cert.pem'));
    const fingerprint = new X509Certificate(certPem).fingerprint256;
    const ready = journal()
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; tlsFingerprint?: string })
      .find((p) => p.msg.startsWith('parley-server ready'));
    expect(ready?.tlsFingerprint).toBe(fingerprint);
    expect(inside('stat -c "%a %U %G" /etc/parley/tls/key.pem').out.trim()).toBe('640 root parley-tls');
    const join6443 = async (nick: string, host: string): Promise<RawClient> => {
      const socket = await new Promise<TLSSocket>((resolve, reject) => {
        const s = tlsConnect({ host, port: 55443, ca: certPem, servername: 'chat.example.org' }, () => resolve(s));
        s.once('error', reject);
      });
      expect(socket.authorized).toBe(true);
      const c = RawClient.wrap(socket);
      c.send(nick);
      await c.waitFor((l) => l.startsWith('online '));
      return c;
    };
    const tina = await join6443('tina', machine.v4);
    const theo = await join6443('theo', machine.v6);
    tina.send('broadcast,private on the wire');
    await theo.waitFor((l) => l === 'broadcast tina :private on the wire');
    const offer = decodeEvent(await theo.ask('download,vm-test.bin', (l) => l.startsWith('offer '))) as Extract<ServerEvent, { type: 'offer' }>;
    expect(offer.key).toMatch(/^[0-9a-f]{64}$/u);
    const dest = join(machine.dir, 'got-tls.bin');
    await downloadFile({ host: machine.v6, offer, destPath: dest });
    expect(
      createHash('sha256')
        .update(await readFile(dest))
        .digest('hex'),
    ).toBe(offer.sha256);
    inside('systemctl reload parley-server');
    await until('the reload in the journal', () => (journal().some((l) => l.includes('SIGHUP: TLS certificate reloaded')) ? true : undefined));
    theo.send('tina,still here after the reload');
    await tina.waitFor((l) => l === 'private theo tina :still here after the reload');
    expect(inside('systemctl show -p NRestarts --value parley-server').out.trim()).toBe('0');
    tina.send('exit');
    theo.send('exit');
    await tina.waitFor((l) => l.startsWith('bye QUIT'));
    await theo.waitFor((l) => l.startsWith('bye QUIT'));
  });

  it('answers /healthz and /metrics on the operations port, which stays on loopback', async () => {
    expect(inside('curl -fsS http://127.0.0.1:9464/healthz').status).toBe(0);
    const metrics = inside('curl -fsS http://127.0.0.1:9464/metrics').out;
    expect(metrics).toMatch(/^parley_connections \d+$/mu);
    expect(metrics).toMatch(/^parley_transfer_sent_bytes_total [1-9]\d*/mu);
    // Listening on 127.0.0.1 only, so another machine is refused.
    const listening = inside('cat /proc/net/tcp').out;
    expect(listening).toContain(`0100007F:${(9464).toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A`);
    const machine = m as Machine;
    await expect(fetch(`http://${machine.v4}:9464/healthz`)).rejects.toThrow();
  });

  it('keeps the data directory across systemctl restart, and tells connected users it is restarting', async () => {
    const machine = m as Machine;
    const before = readyCount();
    const c = await RawClient.join(55000, 'stayer', machine.v4);
    inside('systemctl restart parley-server');
    await c.waitFor((l) => l.startsWith('bye SHUTDOWN'));
    await until('a second "ready"', () => (readyCount() > before ? true : undefined));
    const again = await RawClient.join(55000, 'stayer', machine.v4);
    const files = await again.ask('files', (l) => l.startsWith('files '));
    expect(files).toContain('vm-test.bin 3000000');
    expect(files).toContain('welcome.txt');
    // The files folder was created once, at the first start.
    expect(journal().filter((l) => l.includes('created the files folder')).length).toBe(1);
    again.send('exit');
    await again.waitFor((l) => l.startsWith('bye QUIT'));
  });

  it('stops cleanly: users are told, the process exits 0 and logs "stopped"', async () => {
    const machine = m as Machine;
    const c = await RawClient.join(55000, 'last', machine.v6);
    inside('systemctl stop parley-server');
    await c.waitFor((l) => l.startsWith('bye SHUTDOWN'));
    const show = inside('systemctl show -p Result -p ExecMainCode -p ExecMainStatus parley-server').out;
    expect(show).toContain('Result=success');
    expect(show).toContain('ExecMainStatus=0');
    expect(show).toContain('ExecMainCode=1'); // CLD_EXITED: it exited, it was not killed
    expect(journal().some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    expect(inside('systemctl is-active parley-server', { allowFail: true }).out.trim()).toBe('inactive');
  });

  it("runs two cluster nodes as parley-server@ units on Debian's Redis, as the README says: one room, and a killed node comes back", async () => {
    const machine = m as Machine;
    const lines = readmeCommands('## Running several nodes', 'On a VM with systemd');
    expect(lines.some((l) => l.includes('parley-server@chat-1'))).toBe(true);
    expect(inside('systemctl is-active redis-server', { allowFail: true }).out.trim()).toBe('active');
    const r = inside(`set -e\n${lines.map(adapt).join('\n')}`, { allowFail: true, timeoutMs: 120_000 });
    expect(r.status, `README cluster commands failed:\n${r.err}\n${r.out}`).toBe(0);
    const nodeReady = (unit: string): number =>
      inside(`journalctl -u ${unit} -o cat --no-pager`, { allowFail: true })
        .out.split('\n')
        .filter((l) => l.includes('parley-server ready')).length;
    await until('both nodes ready', () => (nodeReady('parley-server@chat-1') >= 1 && nodeReady('parley-server@chat-2') >= 1 ? true : undefined));
    const alice = await RawClient.join(55001, 'alice', machine.v4);
    const bob = await RawClient.join(55002, 'bob', machine.v6);
    await alice.waitFor((l) => l === 'joined bob');
    bob.send('broadcast,across nodes');
    await alice.waitFor((l) => l === 'broadcast bob :across nodes');
    alice.send('bob,private across');
    await bob.waitFor((l) => l === 'private alice bob :private across');
    expect(await alice.ask('online', (l) => l.startsWith('online '))).toBe('online 2 alice bob');
    // A node killed outright: its users leave the other node, and systemd starts it again.
    const before = nodeReady('parley-server@chat-2');
    inside('systemctl kill -s SIGKILL parley-server@chat-2');
    // Its lease runs out (timeout), or the restarted node, same node id, clears its old users first (disconnected).
    await alice.waitFor((l) => l === 'left bob timeout' || l === 'left bob disconnected', 30_000);
    await until('chat-2 started again by systemd', () => (nodeReady('parley-server@chat-2') > before ? true : undefined));
    const carol = await RawClient.join(55002, 'carol', machine.v4);
    await alice.waitFor((l) => l === 'joined carol');
    // Its own state directory, not the single server's.
    expect(inside('test -f /var/lib/parley-chat-1/files/welcome.txt', { allowFail: true }).status).toBe(0);
    alice.send('exit');
    carol.send('exit');
    await alice.waitFor((l) => l.startsWith('bye QUIT'));
    await carol.waitFor((l) => l.startsWith('bye QUIT'));
  }, 120_000);

  it("refuses Debian's own Node 18 in one line that says what to install", () => {
    const version = inside('/usr/bin/node --version').out.trim();
    expect(version).toMatch(/^v18\./u);
    const r = inside('PARLEY_NODE=/usr/bin/node /opt/parley-server/bin/parley-server --help', { allowFail: true });
    expect(r.status).toBe(2);
    const err = r.err.trim();
    expect(err.split('\n')).toHaveLength(1);
    expect(err).toContain('Node.js 20.19.0 or newer is required');
    expect(err).toContain(version);
  });
});
