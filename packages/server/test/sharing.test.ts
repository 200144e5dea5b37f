import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LossyRelay } from '@parley/test-support';
import { decodeEvent, type ServerEvent } from '@parley/protocol';
import { downloadFile, uploadFile } from '@parley/udp-transfer';
import { startServer, type StartedServer } from '../src/start.js';
import type { ShareConfig } from '../src/sharing/share-options.js';
import { RawClient, silent } from './helpers.js';

let server: StartedServer | undefined;
let clients: RawClient[] = [];
let dirs: string[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await server?.close(200);
  server = undefined;
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  dirs = [];
});

async function temp(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

const LIMITS = { maxFileBytes: 4 << 20, maxPerUserBytes: 6 << 20, maxTotalBytes: 16 << 20, minFreeDiskBytes: 0, maxDays: 7, uploadsPerUser: 2, maxUploads: 8 };

async function start(share: Partial<ShareConfig> = {}, shareDir?: string, operators?: string[]): Promise<{ shared: string; filesDir: string }> {
  const root = await temp('parley-share-');
  const shared = shareDir ?? join(root, 'data', 'shared');
  const filesDir = join(root, 'files');
  server = await startServer(
    {
      host: '127.0.0.1',
      port: 0,
      udpHost: '127.0.0.1',
      udpPort: 0,
      filesDir,
      options: {},
      sharing: { mode: 'on', dir: shared, ...LIMITS, ...share },
      ...(operators ? { accounts: { dir: join(root, 'data'), allowPlaintextPasswords: false, operators } } : {}),
    },
    process.env.DBG ? (await import('pino')).pino({ level: 'debug' }) : silent,
  );
  return { shared, filesDir };
}

async function join_(nick: string): Promise<RawClient> {
  const c = await RawClient.join(server?.port as number, nick);
  clients.push(c);
  return c;
}

async function file(bytes: number, name = 'photo.jpg'): Promise<{ path: string; sha256: string; size: number; content: Buffer }> {
  const dir = await temp('parley-src-');
  const content = randomBytes(bytes);
  const path = join(dir, name);
  await writeFile(path, content);
  return { path, sha256: createHash('sha256').update(content).digest('hex'), size: bytes, content };
}

/** Byte-identical (toEqual on large Buffers is slow); a string is the server's error line. */
function sameBytes(got: Buffer | string, want: Buffer): boolean {
  if (typeof got === 'string') throw new Error(got);
  return got.equals(want);
}

type Upload = Extract<ServerEvent, { type: 'upload' }>;

/** `share,…` and, when the server says `upload`, the UDP upload; resolves with the `shared` line (or the error). */
async function share(c: RawClient, name: string, f: { path: string; sha256: string; size: number }, to?: string): Promise<string> {
  const line = await c.ask(`share,${name},${f.size},${f.sha256}${to ? `,${to}` : ''}`, (l) => l.startsWith('upload ') || l.startsWith('error '));
  if (line.startsWith('error ')) return line;
  const ticket = decodeEvent(line) as Upload;
  const from = c.lines.length;
  await uploadFile({ host: '127.0.0.1', ticket, path: f.path });
  return c.waitFor((l) => l.startsWith('shared ') || l.startsWith('error '), 10_000, from);
}

async function download(c: RawClient, name: string): Promise<Buffer | string> {
  const line = await c.ask(`download,${name}`, (l) => l.startsWith('offer ') || l.startsWith('error '));
  if (line.startsWith('error ')) return line;
  const offer = decodeEvent(line) as Extract<ServerEvent, { type: 'offer' }>;
  const dest = join(await temp('parley-dl-'), 'got');
  await downloadFile({ host: '127.0.0.1', offer, destPath: dest });
  return readFile(dest);
}

describe('share with everyone', () => {
  it('announces the file once it has arrived whole, and another user downloads it byte-identical', async () => {
    await start();
    const alice = await join_('alice');
    const bob = await join_('bob');
    const f = await file(2_000_000);
    const shared = await share(alice, 'photo.jpg', f);
    expect(shared).toBe('shared alice photo.jpg 2000000');
    await bob.waitFor((l) => l === 'shared alice photo.jpg 2000000');
    const files = await bob.ask('files', (l) => l.startsWith('files '));
    expect(files).toContain('photo.jpg 2000000');
    expect(sameBytes(await download(bob, 'photo.jpg'), f.content)).toBe(true);
  });

  it('gives a clashing name a numbered suffix and never replaces the operator\u2019s file or another user\u2019s', async () => {
    const { filesDir } = await start();
    const operatorBytes = Buffer.from('operator file\n');
    await writeFile(join(filesDir, 'notes.txt'), operatorBytes);
    const alice = await join_('alice');
    const bob = await join_('bob');
    const a = await file(1000);
    const b = await file(2000);
    expect(await share(alice, 'notes.txt', a)).toBe('shared alice notes-2.txt 1000');
    expect(await share(bob, 'notes.txt', b)).toBe('shared bob notes-3.txt 2000');
    expect(sameBytes(await download(bob, 'notes.txt'), operatorBytes)).toBe(true);
    expect(sameBytes(await download(bob, 'notes-2.txt'), a.content)).toBe(true);
    expect(sameBytes(await download(alice, 'notes-3.txt'), b.content)).toBe(true);
  });

  it('keeps the shared files across a restart, and never lets a share take the name of its own index', async () => {
    const { shared } = await start();
    const alice = await join_('alice');
    const f = await file(4000, 'index.json');
    expect(await share(alice, 'index.json', f)).toBe('shared alice index-2.json 4000');
    await server?.close(100);
    server = undefined;
    clients = [];
    server = await startServer(
      {
        host: '127.0.0.1',
        port: 0,
        udpHost: '127.0.0.1',
        udpPort: 0,
        filesDir: join(shared, '..', '..', 'files'),
        options: {},
        sharing: { mode: 'on', dir: shared, ...LIMITS },
      },
      silent,
    );
    const bob = await join_('bob');
    expect(await bob.ask('files', (l) => l.startsWith('files '))).toContain('index-2.json 4000');
    expect(sameBytes(await download(bob, 'index-2.json'), f.content)).toBe(true);
  });

  it('lets the owner unshare a file, and nobody else', async () => {
    const { shared } = await start();
    const alice = await join_('alice');
    const bob = await join_('bob');
    const f = await file(5000);
    await share(alice, 'log.txt', f);
    expect(await bob.ask('unshare,log.txt', (l) => l.startsWith('error ') || l.startsWith('unshared '))).toMatch(/^error FILE_NOT_FOUND /);
    expect(await alice.ask('unshare,log.txt', (l) => l.startsWith('error ') || l.startsWith('unshared '))).toBe('unshared log.txt removed');
    expect(await bob.ask('download,log.txt', (l) => l.startsWith('error ') || l.startsWith('offer '))).toMatch(/^error FILE_NOT_FOUND /);
    expect((await readdir(shared)).filter((n) => !n.startsWith('.') && n !== 'index.json')).toEqual([]);
  });
});

describe('operators', () => {
  it('an operator removes anyone\u2019s shared file and its owner is told', async () => {
    const { shared } = await start({}, undefined, ['op']);
    const alice = await join_('alice');
    const op = await join_('op');
    expect(await op.ask('register,op password 123', (l) => l.startsWith('account ') || l.startsWith('error '))).toMatch(/^account registered op /);
    const f = await file(5000);
    await share(alice, 'spam.bin', f);
    expect(await op.ask('unshare,spam.bin', (l) => l.startsWith('info ') || l.startsWith('error '))).toBe('info :removed spam.bin, shared by alice');
    await alice.waitFor((l) => l === 'unshared spam.bin operator');
    expect((await readdir(shared)).filter((n) => !n.startsWith('.') && n !== 'index.json')).toEqual([]);
  });
});

describe('share with one user', () => {
  it('shows the file only to the recipient and the sender; a third user neither lists nor downloads it', async () => {
    await start();
    const alice = await join_('alice');
    const bob = await join_('bob');
    const carol = await join_('carol');
    const f = await file(300_000, 'secret.log');
    expect(await share(alice, 'secret.log', f, 'bob')).toBe('shared alice secret.log 300000 bob');
    await bob.waitFor((l) => l === 'shared alice secret.log 300000 bob');
    expect(sameBytes(await download(bob, 'secret.log'), f.content)).toBe(true);
    // Carol: a later marker first (a broadcast after the share), then nothing about the file.
    alice.send('broadcast,marker');
    await carol.waitFor((l) => l.startsWith('broadcast alice') && l.endsWith(':marker'));
    expect(carol.lines.some((l) => l.includes('secret.log'))).toBe(false);
    expect(await carol.ask('files', (l) => l.startsWith('files '))).not.toContain('secret.log');
    expect(await carol.ask('download,secret.log', (l) => l.startsWith('error ') || l.startsWith('offer '))).toMatch(/^error FILE_NOT_FOUND /);
  });
});

describe('limits', () => {
  it('refuses each limit with its own code and leaves nothing on disk', async () => {
    const { shared } = await start({ maxFileBytes: 1000, maxPerUserBytes: 1500, maxTotalBytes: 2500, uploadsPerUser: 1 });
    const alice = await join_('alice');
    const bob = await join_('bob');
    const carol = await join_('carol');
    const sha = 'ab'.repeat(32);
    const ask = (c: RawClient, line: string) => c.ask(line, (l) => l.startsWith('error ') || l.startsWith('upload '));
    expect(await ask(alice, `share,big.bin,1001,${sha}`)).toMatch(/^error SHARE_TOO_LARGE /);
    expect(await ask(alice, `share,../x,10,${sha}`)).toMatch(/^error FILE_NAME_INVALID /);
    expect(await ask(alice, `share,.hidden,10,${sha}`)).toMatch(/^error FILE_NAME_INVALID /);
    expect(await ask(alice, `share,x.bin,10,${sha},nobody`)).toMatch(/^error UNKNOWN_USER /);
    expect(await ask(alice, 'share,x.bin,10')).toMatch(/^error BAD_ARGUMENTS /);
    const a = await file(900);
    expect(await share(alice, 'a.bin', a)).toBe('shared alice a.bin 900');
    expect(await ask(alice, `share,b.bin,900,${sha}`)).toMatch(/^error SHARE_QUOTA /);
    // One upload at a time per user: the first is pending (no UDP yet), the second is refused.
    expect(await ask(bob, `share,b.bin,800,${sha}`)).toMatch(/^upload /);
    expect(await ask(bob, `share,c.bin,10,${'cd'.repeat(32)}`)).toMatch(/^error TRANSFER_LIMIT /);
    // The total counts bob's upload under way: 900 + 800 + 900 > 2500.
    expect(await ask(carol, `share,d.bin,900,${'ef'.repeat(32)}`)).toMatch(/^error SHARE_NO_SPACE /);
    const listed = (await readdir(shared)).filter((n) => n !== 'index.json' && n !== '.partial' && !n.startsWith('.index'));
    expect(listed).toEqual(['a.bin']);
    expect(await readdir(join(shared, '.partial'))).toEqual([]);
  });

  it('refuses more uploads at once from one address than --share-uploads-per-address, whoever asks', async () => {
    await start({ uploadsPerAddress: 2 });
    const ask = (c: RawClient, sha: string) => c.ask(`share,x.bin,10,${sha}`, (l) => l.startsWith('error ') || l.startsWith('upload '));
    expect(await ask(await join_('alice'), 'a1'.repeat(32))).toMatch(/^upload /);
    expect(await ask(await join_('bob'), 'b1'.repeat(32))).toMatch(/^upload /);
    expect(await ask(await join_('carol'), 'c1'.repeat(32))).toMatch(/^error TRANSFER_LIMIT :at most 2 uploads at once from one address/);
  });

  it('refuses a share when the disk would keep less than the free-disk floor', async () => {
    await start({ minFreeDiskBytes: Number.MAX_SAFE_INTEGER });
    const alice = await join_('alice');
    expect(await alice.ask(`share,x.bin,10,${'ab'.repeat(32)}`, (l) => l.startsWith('error ') || l.startsWith('upload '))).toMatch(/^error SHARE_NO_SPACE /);
  });

  it('answers SHARING_OFF when sharing is off, and NOT_LOGGED_IN to a guest when it is for registered users', async () => {
    await start({ mode: 'registered' });
    const alice = await join_('alice');
    expect(await alice.ask(`share,x.bin,10,${'ab'.repeat(32)}`, (l) => l.startsWith('error '))).toMatch(/^error NOT_LOGGED_IN /);
    await server?.close(100);
    await start({ mode: 'off' });
    const bob = await join_('bob');
    expect(await bob.ask(`share,x.bin,10,${'ab'.repeat(32)}`, (l) => l.startsWith('error '))).toMatch(/^error SHARING_OFF /);
  });
});

describe('a full disk', () => {
  it('stops an upload whose disk fills up with SHARE_NO_SPACE and leaves no partial file (tmpfs of 2 MiB)', async (ctx) => {
    const mnt = await temp('parley-tmpfs-');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
    } catch (err) {
      ctx.skip(`cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`);
      return;
    }
    try {
      const shared = join(mnt, 'shared');
      await mkdir(shared);
      await start({ minFreeDiskBytes: 0 }, shared);
      const alice = await join_('alice');
      const f = await file(1536 * 1024);
      // The share fits when it is checked; then something else fills the disk before the bytes arrive.
      const line = await alice.ask(`share,big.bin,${f.size},${f.sha256}`, (l) => l.startsWith('upload ') || l.startsWith('error '));
      const ticket = decodeEvent(line) as Upload;
      await writeFile(join(mnt, 'filler'), Buffer.alloc(1024 * 1024));
      const from = alice.lines.length;
      await expect(uploadFile({ host: '127.0.0.1', ticket, path: f.path })).rejects.toMatchObject({ code: 'PARLEY_ERR_SHARE_NO_SPACE' });
      expect(await alice.waitFor((l) => l.startsWith('error '), 5000, from)).toMatch(/^error SHARE_NO_SPACE /);
      expect(await readdir(join(shared, '.partial'))).toEqual([]);
      await server?.close(100);
      server = undefined;
    } finally {
      execFileSync('umount', ['-l', mnt]);
    }
  });
});

describe('resume and expiry', () => {
  it('resumes an upload cut by a dropped chat connection when the same file is shared again', async () => {
    const { shared } = await start();
    const alice = await join_('alice');
    const f = await file(3_000_000, 'video.bin');
    const line = await alice.ask(`share,video.bin,${f.size},${f.sha256}`, (l) => l.startsWith('upload '));
    const ticket = decodeEvent(line) as Upload;
    // Cut: the path goes dead once a third has arrived (no CANCEL reaches the server), then the chat connection drops.
    const relay = await LossyRelay.start({ targetPort: server?.udpPort as number });
    const abort = new AbortController();
    let cut = false;
    const first = uploadFile({
      host: '127.0.0.1',
      port: relay.port,
      ticket,
      path: f.path,
      progressIntervalMs: 0,
      signal: abort.signal,
      onProgress: (p) => {
        if (p.bytes < 1_000_000 || cut) return;
        cut = true;
        void relay.close().then(() => {
          alice.close();
          abort.abort();
        });
      },
    });
    await expect(first).rejects.toMatchObject({ code: 'PARLEY_ERR_TRANSFER_CANCELLED' });
    const partialDir = join(shared, '.partial');
    // The server keeps the partial file of a session that went away (wait until it has let go of it).
    await vi.waitFor(async () => expect(server?.sharing?.uploading).toBe(0), { timeout: 5000 });
    const [kept] = await readdir(partialDir);
    expect((await stat(join(partialDir, kept as string))).size).toBeGreaterThanOrEqual(1_000_000);
    // Back again: the same share resumes from what the server kept (the user's CANCEL deletes it; a cut session does not).
    const again = await join_('alice');
    const line2 = await again.ask(`share,video.bin,${f.size},${f.sha256}`, (l) => l.startsWith('upload '));
    const result = await uploadFile({ host: '127.0.0.1', ticket: decodeEvent(line2) as Upload, path: f.path });
    expect(await again.waitFor((l) => l.startsWith('shared '))).toBe('shared alice video.bin 3000000');
    expect(result.bytes).toBe(f.size);
    expect(result.resumedBytes).toBeGreaterThanOrEqual(900_000);
    expect(sameBytes(await download(again, 'video.bin'), f.content)).toBe(true);
    expect(await readdir(partialDir)).toEqual([]);
  });

  it("stops an upload on its owner's cancel,<id>: the upload fails, nothing is kept, nobody is told it was shared, and another user cannot cancel it", async () => {
    const { shared } = await start();
    const alice = await join_('alice');
    const bob = await join_('bob');
    const f = await file(3_000_000, 'movie.bin');
    const ticket = decodeEvent(await alice.ask(`share,movie.bin,${f.size},${f.sha256}`, (l) => l.startsWith('upload '))) as Upload;
    // Someone else's cancel of that id changes nothing (the transfer is not theirs).
    bob.send(`cancel,${ticket.id}`);
    const from = alice.lines.length;
    let cancelled = false;
    const upload = uploadFile({
      host: '127.0.0.1',
      ticket,
      path: f.path,
      progressIntervalMs: 0,
      onProgress: (p) => {
        if (p.bytes < 1_000_000 || cancelled) return;
        cancelled = true;
        alice.send(`cancel,${ticket.id}`);
      },
    });
    await expect(upload).rejects.toMatchObject({ code: 'PARLEY_ERR_TRANSFER_CANCELLED' });
    expect(cancelled).toBe(true);
    await vi.waitFor(() => expect(server?.sharing?.uploading).toBe(0), { timeout: 5000 });
    // The user's cancel deletes what arrived (a cut connection keeps it for a resume; this is not that).
    expect(await readdir(join(shared, '.partial')).catch(() => [])).toEqual([]);
    expect((await readdir(shared)).filter((n) => n !== '.partial' && n !== 'index.json')).toEqual([]);
    // Nobody saw `shared`, and the file is not offered: synced on a later line from alice.
    alice.send('broadcast,after the cancel');
    await bob.waitFor((l) => l.endsWith('after the cancel'));
    expect(bob.lines.some((l) => l.startsWith('shared '))).toBe(false);
    expect(alice.lines.slice(from).some((l) => l.startsWith('shared '))).toBe(false);
    expect(await download(bob, 'movie.bin')).toMatch(/^error FILE_NOT_FOUND /u);
  });

  it('removes shared files older than --share-max-days and tells their owner', async () => {
    const { shared } = await start({ maxDays: 7 });
    const alice = await join_('alice');
    const f = await file(1000, 'old.txt');
    await share(alice, 'old.txt', f);
    await server?.sharing?.sweep(Date.now() + 6 * 86_400_000);
    expect(await alice.ask('files', (l) => l.startsWith('files '))).toContain('old.txt');
    await server?.sharing?.sweep(Date.now() + 8 * 86_400_000);
    await alice.waitFor((l) => l === 'unshared old.txt expired');
    expect(await alice.ask('files', (l) => l.startsWith('files '))).not.toContain('old.txt');
    expect((await readdir(shared)).includes('old.txt')).toBe(false);
  });
});
