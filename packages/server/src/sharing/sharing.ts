import { createHash } from 'node:crypto';
import { link, lstat, mkdir, readdir, stat, statfs, unlink } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { FILE_NAME_MAX_BYTES, nickKey, ParleyProtocolError, protocolError, type FileEntry, type ServerEvent, type ShareCommand } from '@parley/protocol';
import type { UploadOutcome, UploadService } from '@parley/udp-transfer';
import type { Logger } from 'pino';
import type { ServerContext } from '../context.js';
import { checkName, type ResolvedFile } from '../file-library.js';
import type { ChatHub } from '../hub.js';
import type { Session } from '../session.js';
import { ShareIndex, type SharedFile } from './share-index.js';
import { DEFAULT_SHARE_LIMITS, formatBytes, type ShareConfig } from './share-options.js';

/** An upload under way: its bytes count against the limits until it ends. */
interface Reservation {
  readonly id: number;
  readonly session: Session;
  readonly ownerKey: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly to?: { readonly nick: string; readonly key: string };
  readonly hub: ChatHub;
  /** The sharer's IP address (uploads at once per address). */
  readonly address: string | undefined;
}

/** Names in the shared folder that are the server's own (hidden names are refused anyway). */
const RESERVED_NAMES: ReadonlySet<string> = new Set(['index.json']);
/** Partial files of uploads nobody resumed are deleted after this long. */
const PARTIAL_MAX_AGE_MS = 24 * 3600_000;
/** How often expired shares and stale partial files are looked for. */
const SWEEP_EVERY_MS = 10 * 60_000;

/**
 * Sharing files (PROTOCOL.md §7): checks a `share` against every limit before
 * anything is written, hands the upload to the UDP service, moves the verified
 * file into the shared folder under a name nobody holds, announces it, lists
 * and resolves shared files for the users allowed to see them, and removes them
 * (owner, operator, expiry).
 */
export class Sharing {
  readonly index: ShareIndex;
  readonly #reservations = new Map<number, Reservation>();
  readonly #partialDir: string;
  #deliver: (key: string, event: ServerEvent) => void = () => undefined;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(
    readonly config: ShareConfig,
    private readonly uploads: UploadService,
    /** The operator's `--files-dir`: a shared file never takes one of its names. */
    private readonly filesRoot: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.index = new ShareIndex(config.dir, log);
    this.#partialDir = join(config.dir, '.partial');
  }

  /** Creates the folders, reads the index (dropping entries whose file is gone), sweeps, and starts the sweeper. */
  async start(): Promise<void> {
    await mkdir(this.#partialDir, { recursive: true, mode: 0o700 });
    await this.index.load();
    for (const f of [...this.index.all()]) {
      const st = await stat(join(this.config.dir, f.name)).catch(() => undefined);
      if (st?.isFile() !== true || st.size !== f.size || checkName(f.name) !== undefined) {
        this.log.warn({ name: f.name }, 'a shared file listed in the index is missing or changed: no longer shared');
        await this.index.delete(f.name);
      }
    }
    await this.sweep();
    this.#sweeper = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
    this.#sweeper.unref();
  }

  /** Uploads expected or under way. */
  get uploading(): number {
    return this.#reservations.size;
  }

  /** How `shared`/`unshared` events reach one user of this node by nickname key (set by the chat server). */
  attachDelivery(deliver: (key: string, event: ServerEvent) => void): void {
    this.#deliver = deliver;
  }

  close(): void {
    clearInterval(this.#sweeper);
  }

  /** `share,<name>,<size>,<sha256>[,<nick>]`: every check first, then the `upload` event (or one specific error). */
  async share(session: Session, command: Extract<ShareCommand, { type: 'share' }>, ctx: ServerContext): Promise<void> {
    const c = this.config;
    if (c.mode === 'off') return session.sendError('SHARING_OFF', 'sharing files is switched off on this server');
    if (c.mode === 'registered' && session.account === undefined) {
      return session.sendError('NOT_LOGGED_IN', 'on this server only registered users share files: register,<password> first (over TLS)');
    }
    const bad = checkName(command.name);
    if (bad !== undefined) {
      return session.sendError('FILE_NAME_INVALID', bad.wireCode === 'FILE_NAME_INVALID' ? bad.message : 'file name cannot start with a dot');
    }
    let to: Reservation['to'];
    if (command.to !== undefined) {
      const online = await ctx.hub.online();
      const key = nickKey(command.to);
      const nick = online.find((n) => nickKey(n) === key);
      if (nick === undefined) return session.sendError('UNKNOWN_USER', `no user "${command.to}" is online; nothing was shared`);
      to = { nick, key };
    }
    if (command.size > c.maxFileBytes) {
      return session.sendError(
        'SHARE_TOO_LARGE',
        `${command.name} is ${formatBytes(command.size)}; this server takes files up to ${formatBytes(c.maxFileBytes)}`,
      );
    }
    const mine = this.index.bytes(session.key) + this.#reserved(session.key);
    if (mine + command.size > c.maxPerUserBytes) {
      return session.sendError(
        'SHARE_QUOTA',
        `you share ${formatBytes(mine)} already; with ${command.name} it would be more than your ${formatBytes(c.maxPerUserBytes)} (unshare,<name> frees some)`,
      );
    }
    const all = this.index.bytes() + this.#reserved();
    if (all + command.size > c.maxTotalBytes) {
      return session.sendError(
        'SHARE_NO_SPACE',
        `the shared files take ${formatBytes(all)} of ${formatBytes(c.maxTotalBytes)}; there is no room for ${command.name}`,
      );
    }
    const free = await this.#freeBytes();
    if (free - this.#reserved() - command.size < c.minFreeDiskBytes) {
      return session.sendError('SHARE_NO_SPACE', `the server's disk is too full for ${command.name} (${formatBytes(command.size)})`);
    }
    const ownUploads = [...this.#reservations.values()].filter((r) => r.ownerKey === session.key);
    if (ownUploads.some((r) => r.sha256 === command.sha256)) {
      return session.sendError('TRANSFER_LIMIT', `you are uploading ${command.name} already`);
    }
    if (ownUploads.length >= c.uploadsPerUser)
      return session.sendError('TRANSFER_LIMIT', `at most ${c.uploadsPerUser} uploads at once per user; wait for one to finish`);
    const perAddress = c.uploadsPerAddress ?? DEFAULT_SHARE_LIMITS.uploadsPerAddress;
    if (session.address !== undefined && [...this.#reservations.values()].filter((r) => r.address === session.address).length >= perAddress) {
      return session.sendError('TRANSFER_LIMIT', `at most ${perAddress} uploads at once from one address; wait for one to finish`);
    }
    if (this.#reservations.size >= c.maxUploads)
      return session.sendError('TRANSFER_LIMIT', `the server takes ${c.maxUploads} uploads at once; try again shortly`);
    let ticket: { id: number; token: string; key?: string };
    try {
      ticket = this.uploads.expect(
        {
          owner: session.id,
          name: command.name,
          size: command.size,
          sha256: command.sha256,
          partialPath: this.#partialPath(session.key, command.sha256),
          encrypt: session.transport === 'tls',
        },
        (outcome) => void this.#ended(ticket.id, outcome),
      );
    } catch (err) {
      if (err instanceof ParleyProtocolError) return session.reject(err);
      throw err;
    }
    this.#reservations.set(ticket.id, {
      id: ticket.id,
      session,
      ownerKey: session.key,
      name: command.name,
      size: command.size,
      sha256: command.sha256,
      hub: ctx.hub,
      address: session.address,
      ...(to !== undefined ? { to } : {}),
    });
    session.send({
      type: 'upload',
      id: ticket.id,
      name: command.name,
      size: command.size,
      sha256: command.sha256,
      token: ticket.token,
      udpPort: this.uploads.port,
      ...(ticket.key !== undefined ? { key: ticket.key } : {}),
    });
    session.log.info({ file: command.name, size: command.size, upload: ticket.id, to: to?.nick, encrypted: ticket.key !== undefined }, 'upload expected');
    return undefined;
  }

  /** `unshare,<name>`: the owner removes a file. Someone else's (or a private one not theirs) is "not found". */
  async unshare(session: Session, name: string, operator = false): Promise<void> {
    const f = this.index.get(name);
    if (f !== undefined && operator && f.ownerKey !== session.key) {
      // An operator removes anyone's file; its owner is told (`unshared <name> operator`).
      await this.remove(name, 'operator');
      session.send({ type: 'info', text: `removed ${name}, shared by ${f.owner}` });
      return undefined;
    }
    if (f === undefined || !this.#visible(f, session.key)) return session.sendError('FILE_NOT_FOUND', `you share no file "${name}"`);
    if (f.ownerKey !== session.key) return session.sendError('FILE_NOT_FOUND', `"${name}" was shared by ${f.owner}; only they (or an operator) can remove it`);
    await this.remove(name, 'removed');
    session.send({ type: 'unshared', name, reason: 'removed' });
    return undefined;
  }

  /**
   * Removes a shared file (for the owner, the moderation code, expiry): deleted from
   * the index and the disk, and those who could see it are told. False when there is none.
   */
  async remove(name: string, reason: 'removed' | 'expired' | 'operator'): Promise<boolean> {
    const f = this.index.get(name);
    if (f === undefined) return false;
    await this.index.delete(name);
    await unlink(join(this.config.dir, name)).catch(() => undefined);
    this.log.info({ name, owner: f.owner, reason }, 'shared file removed');
    if (reason !== 'removed') this.#deliver(f.ownerKey, { type: 'unshared', name, reason });
    return true;
  }

  /** The chat session is gone: its uploads stop; their partial files stay for a resume (the same `share` again). */
  sessionClosed(sessionId: string): void {
    this.uploads.cancelOwner(sessionId);
  }

  /** Cancels an upload of this session by id (`cancel,<id>`); the partial file is deleted. */
  cancel(sessionId: string, id: number): boolean {
    return this.uploads.cancel(sessionId, id, 'upload cancelled by the user');
  }

  /** Shared files this user may see, for the `files` list. */
  list(viewerKey: string): FileEntry[] {
    const out: FileEntry[] = [];
    for (const f of this.index.all()) if (this.#visible(f, viewerKey)) out.push({ name: f.name, size: f.size });
    return out;
  }

  /** A shared file by name, if this user may download it. */
  resolve(name: string, viewerKey: string): ResolvedFile | undefined {
    const f = this.index.get(name);
    if (f === undefined || !this.#visible(f, viewerKey)) return undefined;
    return { path: join(this.config.dir, f.name), name: f.name, size: f.size, sha256: f.sha256 };
  }

  /** Deletes expired shares and partial files older than a day (`now`: the clock, or a time to sweep as of). */
  async sweep(now = this.now()): Promise<void> {
    if (this.config.maxDays > 0) {
      const cutoff = now - this.config.maxDays * 86_400_000;
      for (const f of [...this.index.all()]) if (f.sharedAt < cutoff) await this.remove(f.name, 'expired');
    }
    const active = new Set([...this.#reservations.values()].map((r) => this.#partialPath(r.ownerKey, r.sha256)));
    for (const e of await readdir(this.#partialDir).catch(() => [] as string[])) {
      const p = join(this.#partialDir, e);
      if (active.has(p)) continue;
      const st = await stat(p).catch(() => undefined);
      if (st !== undefined && now - st.mtimeMs > PARTIAL_MAX_AGE_MS) await unlink(p).catch(() => undefined);
    }
  }

  #visible(f: SharedFile, viewerKey: string): boolean {
    return f.toKey === undefined || f.toKey === viewerKey || f.ownerKey === viewerKey;
  }

  #reserved(ownerKey?: string): number {
    let n = 0;
    for (const r of this.#reservations.values()) if (ownerKey === undefined || r.ownerKey === ownerKey) n += r.size;
    return n;
  }

  async #freeBytes(): Promise<number> {
    const s = await statfs(this.config.dir);
    return s.bavail * s.bsize;
  }

  /** Same user and same content: the same partial file, so a new `share` after a cut resumes it. */
  #partialPath(ownerKey: string, sha256: string): string {
    const who = createHash('sha256').update(ownerKey).digest('hex').slice(0, 16);
    return join(this.#partialDir, `${who}-${sha256}.part`);
  }

  async #ended(id: number, outcome: UploadOutcome): Promise<void> {
    const r = this.#reservations.get(id);
    if (r === undefined) return;
    if (!outcome.ok) {
      this.#reservations.delete(id);
      const why = outcome.kept ? `${outcome.text}; share it again to resume` : outcome.text;
      if (outcome.code !== 'TRANSFER_CANCELLED' || outcome.kept) r.session.sendError(outcome.code, `upload of ${r.name} failed: ${why}`);
      else r.session.sendError('TRANSFER_CANCELLED', `upload of ${r.name} cancelled; nothing was kept`);
      return;
    }
    try {
      const name = await this.#place(outcome.path, r.name);
      const file: SharedFile = {
        name,
        owner: r.session.nick,
        ownerKey: r.ownerKey,
        size: r.size,
        sha256: r.sha256,
        sharedAt: this.now(),
        ...(r.to !== undefined ? { to: r.to.nick, toKey: r.to.key } : {}),
      };
      await this.index.add(file);
      this.#reservations.delete(id);
      const event: ServerEvent = { type: 'shared', from: file.owner, name, size: file.size, ...(r.to !== undefined ? { to: r.to.nick } : {}) };
      this.log.info({ name, owner: file.owner, size: file.size, to: file.to }, 'file shared');
      r.session.send(event);
      if (r.to !== undefined) {
        if (r.to.key !== r.ownerKey) this.#deliver(r.to.key, event);
      } else {
        r.hub.broadcast(r.session, event);
      }
    } catch (err) {
      this.#reservations.delete(id);
      await unlink(outcome.path).catch(() => undefined);
      this.log.error({ err, name: r.name }, 'a verified upload could not be moved into the shared folder');
      r.session.sendError('SHARE_NO_SPACE', `upload of ${r.name} arrived but could not be stored; nothing was kept`);
    }
  }

  /**
   * Moves the verified partial file to `<dir>/<name>`, or `<stem>-2<ext>`, `-3`… when the
   * name is taken by another shared file or an operator's file. `link` never replaces
   * an existing file, so two finishing uploads cannot take the same name.
   */
  async #place(temp: string, wanted: string): Promise<string> {
    const ext = extname(wanted);
    const stem = ext.length > 0 && ext.length < wanted.length ? wanted.slice(0, -ext.length) : wanted;
    for (let n = 1; n <= 1000; n++) {
      let name = n === 1 ? wanted : `${stem}-${n}${ext}`;
      if (Buffer.byteLength(name) > FILE_NAME_MAX_BYTES) name = `${[...stem].slice(0, 100).join('')}-${n}${ext.slice(0, 20)}`;
      if (this.index.has(name) || RESERVED_NAMES.has(name)) continue;
      if (
        await lstat(join(this.filesRoot, name)).then(
          () => true,
          () => false,
        )
      )
        continue;
      try {
        await link(temp, join(this.config.dir, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      await unlink(temp);
      return name;
    }
    throw protocolError('FILE_NAME_INVALID', `no free name for ${wanted}`);
  }
}
