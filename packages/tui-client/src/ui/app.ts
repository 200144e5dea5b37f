/*
 * Why this is about 480 lines: it is the one place where the client's pure
 * parts meet blessed and the socket. keys.ts decides what a key does (a pure,
 * unit-tested reducer), model/ holds the state, render.ts turns it into lines,
 * net/ and transfer/ talk to the server; what is left here is carrying out
 * their decisions, and its four sections (drawing, connection, actions, keys)
 * read and write the same session variables (conn, downloads, keys, host, nick,
 * pendingTrust). The seam for a later split is the connection section: a
 * session object owning conn/downloads/outage that the actions call.
 */
import { resolve } from 'node:path';
import { checkNickname, type Command } from '@parley/protocol';
import { downloadFile, uploadFile } from '@parley/udp-transfer';
import { homedir } from 'node:os';
import { DEFAULT_TLS_PORT, type ClientArgs } from '../cli/args.js';
import type { Message } from '../model/messages.js';
import { createLog } from '../cli/log.js';
import { ChatModel, type ConnectionState } from '../model/chat-model.js';
import { Completer } from '../model/completion.js';
import { formatBytes } from '../model/format.js';
import { InputLine } from '../model/input-line.js';
import { CLIENT_HELP, parseInput } from '../model/input-parse.js';
import { secretPrompt, secretStep, type SecretAsk } from '../model/password-prompt.js';
import { Connection, type LinkState } from '../net/connection.js';
import { addKnownServer, knownServersPath } from '../net/known-servers.js';
import { parseServer } from '../net/server-address.js';
import { tlsSettings } from '../net/tls-settings.js';
import { askLines, serverKey, showFingerprint, type Fingerprint } from '../net/trust.js';
import { DownloadManager, type DownloadFn } from '../transfer/downloads.js';
import { UploadManager, type UploadFn } from '../transfer/uploads.js';
import { ConversationView, filesLines, inputLine, onlineLines, statusLine } from './render.js';
import { MODES, askQuit as confirmQuit, initialKeyState, promptFor, reduceKey, withMode, type KeyAction, type KeyState } from './keys.js';
import { linkJoined, linkNotice, NO_OUTAGE, type LinkNoticeState } from '../net/link-notices.js';
import { ChatScreen } from './screen.js';

/** A key event as blessed reports it. */
interface BlessedKey {
  readonly name?: string;
  readonly full?: string;
  readonly ctrl?: boolean;
  readonly meta?: boolean;
  readonly shift?: boolean;
}

/** The interactive client. Resolves with the exit code when the user has quit. */
export function runApp(args: ClientArgs, opts: { readonly ca?: Buffer | undefined } = {}): Promise<number> {
  const log = createLog(args.logFile);
  const model = new ChatModel();
  const input = new InputLine();
  /** The masked password line (password mode): its own line, so no password reaches the input history. */
  const secret = new InputLine(0);
  /** What the password prompt is asking (see model/password-prompt.ts). */
  let secretAsk: SecretAsk | undefined;
  const completer = new Completer();
  const view = new ConversationView();
  const ui = new ChatScreen();
  /** The input mode and the files panel's selection: see keys.ts. */
  let keys: KeyState = initialKeyState(MODES.chat);
  let host = args.host?.trim() || undefined;
  let port = args.port;
  let nick = args.nick?.trim() || undefined;
  /** TLS for the current server: --tls (every server), or a tls:// address. Never dropped on a reconnect. */
  let tls = args.tls;
  /** A certificate waiting for the person's y/N (trust mode). */
  let pendingTrust: { readonly host: string; readonly port: number; readonly fingerprint: Fingerprint } | undefined;
  const knownFile = knownServersPath();
  /** Default ports of an address typed without one: plain, and tls:// (--port counts for both). */
  const defaultPorts = (): [number, number] => [args.port, args.tls || args.portGiven ? args.port : DEFAULT_TLS_PORT];
  let conn: Connection | undefined;
  let downloads: DownloadManager | undefined;
  let uploads: UploadManager | undefined;
  let quitting = false;
  /** What has been said about the current outage: see net/link-notices.ts. */
  let outage: LinkNoticeState = NO_OUTAGE;
  /** A line refused as `nick,text` for a nick not online: Enter again on it sends it to everyone. */
  let refusedText: string | undefined;
  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((r) => (finish = r));

  // ---- drawing ------------------------------------------------------------
  /** A draw is scheduled: changes within 16 ms share one render. */
  let drawPending = false;
  let lastDrawnId = 0;
  /** The oldest message is in sight (PgUp then asks the server for earlier ones). */
  let atTop = true;
  const draw = (): void => {
    drawPending = false;
    const L = ui.layout;
    // Too narrow for the side panels: the files list is printed instead (see F3).
    if (!L.side && keys.mode === MODES.files) keys = withMode(keys, MODES.chat);
    keys = { ...keys, selected: Math.max(0, Math.min(keys.selected, model.files.length - 1)) };
    // Scrolled up: keep the lines being read still while new ones arrive below.
    const all = model.messages.all;
    const newest = all[all.length - 1]?.id ?? 0;
    if (view.offset > 0) {
      for (let i = all.length - 1; i >= 0 && (all[i]?.id ?? 0) > lastDrawnId; i--) view.scroll(view.height(all[i] as Message, model.me));
    }
    lastDrawnId = newest;
    const conv = view.window(model.messages.all, L.convo.width, L.convo.height, model.me);
    atTop = !conv.above;
    ui.set(ui.convo, conv.lines);
    ui.convo.setLabel(view.offset > 0 ? ` Parley — scrolled up (PgDn: newer) ` : ` Parley `);
    if (L.side) {
      ui.online.setLabel(` Online (${model.users.length}) `);
      ui.set(ui.online, onlineLines(model.users, model.me, L.side.width, L.side.onlineHeight));
      ui.files.setLabel(keys.mode === MODES.files ? ` Files (${model.files.length}) ▶ ` : ` Files (${model.files.length}) `);
      const recent = model.transfers.all.filter((t) => t.finishedAt === undefined || model.now() - t.finishedAt < 60_000);
      ui.set(ui.files, filesLines(model.files, keys.selected, keys.mode === MODES.files, recent, L.side.width, L.side.filesHeight));
    }
    ui.set(ui.status, [statusLine(model, L.width)]);
    ui.set(ui.input, [
      inputLine(
        promptText(),
        keys.mode === MODES.password ? masked() : input,
        L.width,
        keys.mode === MODES.files || keys.mode === MODES.confirm || keys.mode === MODES.trust,
      ),
    ]);
    ui.screen.render();
  };
  const redraw = (): void => {
    if (drawPending) return;
    drawPending = true;
    setTimeout(draw, 16);
  };
  const promptText = (): string =>
    promptFor(keys.mode, {
      me: model.me || nick || '?',
      downloads: model.transfers.active.length,
      ...(secretAsk ? { secretPrompt: secretPrompt(secretAsk) } : {}),
    });
  /** The password line as drawn: one `*` per character, the cursor where it is. */
  const masked = (): InputLine => {
    const m = new InputLine(0);
    m.set('*'.repeat([...secret.text].length), secret.cursor);
    return m;
  };
  const note = (text: string): void => {
    model.system(text);
    redraw();
  };
  const fail = (text: string): void => {
    model.add('error', text);
    redraw();
  };

  // ---- connection ---------------------------------------------------------
  const stateOf: Record<LinkState, ConnectionState> = {
    connecting: 'connecting',
    naming: 'naming',
    online: 'online',
    reconnecting: 'reconnecting',
    closed: 'closed',
  };
  const connect = (): void => {
    if (!host || !nick) return;
    model.server = `${host}:${port}`;
    model.me = nick;
    model.security = tls ? 'TLS' : 'plain';
    downloads = new DownloadManager({
      dir: resolve(args.downloadDir),
      host,
      transfers: model.transfers,
      download: downloadFile as unknown as DownloadFn,
      onChange: redraw,
      onDone: (r) => note(`saved ${r.name} → ${r.path} (${formatBytes(r.bytes)}), SHA-256 ${r.sha256} verified`),
      onFail: (r) => fail(`download of ${r.name} failed: ${r.error}`),
    });
    uploads = new UploadManager({
      host,
      transfers: model.transfers,
      upload: uploadFile as unknown as UploadFn,
      onChange: redraw,
      send: (command) => send(command),
      onSent: (name) => note(`${name} sent; the server is checking its SHA-256…`),
      onFail: (name, error) => fail(`upload of ${name} failed: ${error}`),
    });
    note(`connecting to ${host}:${port}${tls ? ' with TLS' : ''} as ${nick}…`);
    const settings = tls
      ? tlsSettings({
          host,
          port,
          ca: opts.ca,
          fingerprint: args.fingerprint,
          interactive: true,
          knownFile,
          onFileProblems: (lines) => {
            for (const l of lines) fail(`warning: ${l}`);
          },
        })
      : undefined;
    const c: Connection = new Connection(
      { host, port, nick, tls: settings },
      {
        onState: (state, detail) => {
          if (conn !== c) return; // an old connection, left with /server
          log.debug({ state, detail }, 'connection state');
          model.setState(stateOf[state], detail);
          model.security = securityLabel(c);
          // The question about the certificate says it all.
          if (state === 'closed' && pendingTrust) return redraw();
          const notice = linkNotice(outage, { state, detail, server: `${c.host}:${c.port}`, quitting });
          outage = notice.state;
          if (notice.line) fail(notice.line);
          redraw();
        },
        onEvent: (event) => {
          if (conn !== c) return;
          log.debug({ event: event.type }, 'event');
          // The server's "type your nickname" prompt is for people using nc; we send the nick ourselves.
          if (event.type === 'info' && conn?.state === 'naming') return;
          const effects = model.apply(event);
          if (effects.bell && args.bell) ui.bell();
          if (effects.send) c.send(effects.send);
          if (event.type === 'error') {
            downloads?.refused(event.code);
            uploads?.refused(event.code);
          }
          if (event.type === 'upload' && uploads) {
            // Only the answer to a share the user asked for starts an upload.
            const outcome = uploads.accept(event);
            if (outcome.ok)
              note(`sharing ${event.name} (${formatBytes(event.size)})${event.key !== undefined ? ', sealed (AEAD)' : ''}; /cancel ${event.id} stops it`);
            else fail(`warning: ignored an upload ticket for "${event.name}" from the server: ${outcome.reason}`);
          }
          if (event.type === 'offer' && downloads) {
            // Only an offer for a download the user asked for starts; any other is shown and ignored.
            const outcome = downloads.accept(event);
            if (outcome.ok)
              note(`downloading ${event.name} (${formatBytes(event.size)})${event.key !== undefined ? ', sealed (AEAD)' : ''}; /cancel ${event.id} stops it`);
            else fail(`warning: ignored an offer of "${event.name}" from the server: ${outcome.reason}`);
          }
          redraw();
        },
        onPasswordNeeded: (registered, refusal) => {
          if (conn !== c) return;
          if (refusal === undefined) {
            note(`${registered} is a registered nickname: type its password (Esc: choose another nickname)`);
            return askSecret({ kind: 'login', nick: registered });
          }
          if (refusal.code === 'LOGIN_FAILED') fail(`wrong password for ${registered} [LOGIN_FAILED]; type it again (Esc: choose another nickname)`);
          else if (refusal.code === 'LOGIN_THROTTLED') fail(`${refusal.text} [LOGIN_THROTTLED]`);
          if (refusal.code === 'LOGIN_FAILED' || refusal.code === 'LOGIN_THROTTLED') return askSecret({ kind: 'login', nick: registered });
          // PASSWORD_NEEDS_TLS, ACCOUNTS_OFF: no password will do here.
          fail(
            refusal.code === 'PASSWORD_NEEDS_TLS'
              ? `this server takes passwords only over TLS: reconnect with --tls (or /server tls://${c.host.includes(':') ? `[${c.host}]` : c.host}) to log in as ${registered} [PASSWORD_NEEDS_TLS]`
              : `${refusal.text} [${refusal.code}]`,
          );
          leaveSecret();
          keys = withMode(keys, MODES.nick);
          input.set(registered);
          note('choose another nickname and press Enter');
        },
        onJoined: (joined, rejoined) => {
          if (conn !== c) return;
          outage = linkJoined(outage);
          nick = joined;
          if (keys.mode === MODES.password && secretAsk?.kind === 'login') leaveSecret();
          if (keys.mode === MODES.nick) {
            keys = withMode(keys, MODES.chat);
            input.clear();
          }
          if (rejoined) note(`reconnected as ${joined}`);
          // Protocol 2: ids on; after a reconnect, everything after the last message seen.
          for (const command of model.history.joined(model.serverVersion, rejoined)) c.send(command);
          conn?.send({ type: 'files' });
          redraw();
        },
        onNickRefused: (_code, _text, refused) => {
          if (conn !== c) return;
          if (keys.mode !== MODES.nick || input.text === '') input.set(refused);
          keys = withMode(keys, MODES.nick);
          note('choose another nickname and press Enter');
        },
        onBadLine: (line, err) => log.warn({ line, err: err.message }, 'ignored a line from the server'),
        onUntrusted: (decision) => {
          if (conn !== c) return;
          log.warn(
            { decision: decision.kind, code: decision.kind === 'refused' ? decision.code : undefined, fingerprint: decision.fingerprint },
            'certificate not trusted',
          );
          if (decision.kind === 'ask') {
            pendingTrust = { host: c.host, port: c.port, fingerprint: decision.fingerprint };
            for (const l of askLines(serverKey(c.host, c.port), decision.fingerprint, knownFile)) fail(l);
            keys = withMode(keys, MODES.trust);
          } else {
            for (const l of decision.lines) fail(l);
            note('not connected. /server <address> connects elsewhere; F10 quits.');
          }
          redraw();
        },
      },
    );
    conn = c;
    c.start();
  };

  /** The status bar's word on encryption: `plain`, `TLS` (not yet verified), `TLS 1.3 · pinned`. */
  const securityLabel = (c: Connection): string => {
    if (!c.tls) return 'plain';
    const sec = c.security;
    return sec?.tls ? `${sec.version.replace(/^TLSv/u, 'TLS ')} · ${sec.basis}` : 'TLS';
  };
  /** The answer to the certificate question: y pins it and connects again (the pin is then checked); no stays disconnected. */
  const answerTrust = async (accept: boolean): Promise<void> => {
    const p = pendingTrust;
    pendingTrust = undefined;
    keys = withMode(keys, MODES.chat);
    if (!p) return;
    if (!accept) {
      note(`not connected: the certificate of ${p.host}:${p.port} was not trusted. /server <address> connects elsewhere; F10 quits.`);
      return redraw();
    }
    try {
      await addKnownServer(knownFile, serverKey(p.host, p.port), p.fingerprint);
    } catch (err) {
      fail(`could not pin the certificate in ${knownFile}: ${(err as Error).message}`);
      return redraw();
    }
    note(`pinned ${serverKey(p.host, p.port)} ${showFingerprint(p.fingerprint)} in ${knownFile}`);
    if (host === p.host && port === p.port) connect();
    redraw();
  };

  // ---- passwords: asked masked, kept only in the Connection's memory ---------
  const askSecret = (ask: SecretAsk, why?: string): void => {
    secretAsk = ask;
    secret.clear();
    keys = withMode(keys, MODES.password);
    if (why) fail(why);
    redraw();
  };
  /** Wipes the password line and leaves the prompt. */
  const leaveSecret = (): void => {
    secretAsk = undefined;
    secret.clear();
    if (keys.mode === MODES.password) keys = withMode(keys, MODES.chat);
  };
  const submitSecret = (): void => {
    const ask = secretAsk;
    const entered = secret.text;
    secret.clear();
    if (!ask) return leaveSecret();
    const step = secretStep(ask, entered);
    switch (step.kind) {
      case 'ask':
        return askSecret(step.ask, step.note);
      case 'login':
        leaveSecret();
        if (!conn?.awaitingPassword) return fail('the server is not asking for a password now');
        note('logging in…');
        conn.login(step.password);
        return;
      case 'send':
        leaveSecret();
        if (send(step.command)) note(`${step.command.type}: sent, waiting for the server…`);
        return;
    }
  };
  const cancelSecret = (): void => {
    const ask = secretAsk;
    leaveSecret();
    if (ask?.kind === 'login') {
      keys = withMode(keys, MODES.nick);
      input.set(ask.nick);
      note('choose another nickname and press Enter');
    } else {
      note('cancelled; nothing was sent');
    }
  };
  const accountCommand = (action: 'register' | 'password' | 'unregister' | 'login'): void => {
    if (action === 'login') {
      note('logging in happens on joining: with a registered nickname, Parley asks for its password (start again with --nick, or /server to reconnect)');
      return;
    }
    if (conn?.state !== 'online') return fail('not connected');
    askSecret(action === 'register' ? { kind: 'register' } : action === 'password' ? { kind: 'password-old' } : { kind: 'unregister' });
  };

  // ---- actions --------------------------------------------------------------
  const send = (command: Command): boolean => {
    if (conn?.state !== 'online') {
      fail('not connected: nothing was sent (your text is still in the input)');
      return false;
    }
    return conn.send(command);
  };
  /** Asks the server for `file`, remembering the request so that its offer (and only its offer) is accepted. */
  const requestDownload = (file: string): boolean => {
    if (conn?.state !== 'online' || !downloads) return send({ type: 'download', file });
    const refusal = downloads.request(file);
    if (refusal) {
      fail(refusal);
      return false;
    }
    return conn.send({ type: 'download', file });
  };
  const switchServer = (newHost: string, newPort: number, newTls: boolean): void => {
    const old = conn;
    pendingTrust = undefined;
    leaveSecret();
    tls = newTls;
    conn = undefined;
    old?.close();
    void downloads?.stopAll();
    uploads?.stopAll();
    outage = NO_OUTAGE;
    model.users = [];
    model.files = [];
    model.me = '';
    model.setState('idle');
    host = newHost;
    port = newPort;
    if (!old) note(`server set to ${host}:${port}`);
    else note(`left ${old.host}:${old.port}`);
    connect();
    redraw();
  };
  const askQuit = (): void => {
    keys = confirmQuit(keys);
    redraw();
  };
  const quit = async (): Promise<void> => {
    if (quitting) return;
    quitting = true;
    uploads?.stopAll();
    // `exit` goes to the server before the screen is touched: the terminal may already be gone (SIGHUP).
    const leaving = Promise.all([conn?.quit(1500), downloads?.stopAll()]);
    note('leaving…');
    draw();
    await Promise.race([leaving, new Promise((r) => setTimeout(r, 2500))]);
    ui.destroy();
    log.flush();
    finish(0);
  };
  const downloadSelected = (): void => {
    const f = model.files[keys.selected];
    if (!f) return;
    if (requestDownload(f.name)) note(`asking for ${f.name}…`);
  };

  const submit = (): void => {
    const text = input.text;
    if (keys.mode === MODES.host) {
      const parsed = parseServer(text, ...defaultPorts());
      if (typeof parsed === 'string') return fail(parsed);
      host = parsed.host;
      port = parsed.port;
      tls = args.tls || parsed.tls;
      input.submit();
      model.server = `${host}:${port}`;
      if (!nick) {
        keys = withMode(keys, MODES.nick);
        model.system('Choose a nickname and press Enter.');
      } else {
        keys = withMode(keys, MODES.chat);
        connect();
      }
      return redraw();
    }
    if (keys.mode === MODES.nick) {
      const checked = checkNickname(text);
      if (!checked.ok) return fail(checked.error.message);
      nick = checked.nick;
      input.clear();
      keys = withMode(keys, MODES.chat);
      if (conn) conn.chooseNick(nick);
      else connect();
      return redraw();
    }
    let action = parseInput(text, { onlineNick: (n) => model.onlineNick(n) });
    if (action.kind === 'refuse' && action.anyway && refusedText === text) action = { kind: 'send', command: action.anyway };
    refusedText = action.kind === 'refuse' && action.anyway ? text : undefined;
    switch (action.kind) {
      case 'none':
        return;
      case 'refuse':
        if (action.secret) input.clear();
        else input.remember(text);
        return fail(action.reason);
      case 'account':
        input.submit();
        return accountCommand(action.action);
      case 'share': {
        if (!uploads || conn?.state !== 'online') return fail('not connected: nothing was shared');
        input.submit();
        const path = resolve(action.path.replace(/^~(?=\/|$)/u, homedir()));
        note(`reading ${path}…`);
        void uploads.share(path, action.to).then((refusal) => (refusal !== undefined ? fail(refusal) : redraw()));
        return redraw();
      }
      case 'server': {
        const parsed = parseServer(action.address, ...defaultPorts());
        if (typeof parsed === 'string') return fail(parsed);
        input.submit();
        return switchServer(parsed.host, parsed.port, args.tls || parsed.tls);
      }
      case 'local':
        input.submit();
        if (action.action === 'quit') askQuit();
        else if (action.action === 'help') for (const l of CLIENT_HELP) model.system(l);
        else model.messages.clear();
        return redraw();
      case 'send': {
        const c = action.command;
        if (!(c.type === 'download' ? requestDownload(c.file) : send(c))) return;
        input.submit();
        view.offset = 0;
        if (c.type === 'broadcast') model.echoBroadcast(c.text);
        else if (c.type === 'private') model.echoPrivate(c.to, c.text);
        else if (c.type === 'online') model.showNextOnline = true;
        else if (c.type === 'files') model.showNextFiles = true;
        else if (c.type === 'download') model.system(`asking for ${c.file}…`);
        else if (c.type === 'cancel') {
          downloads?.cancel(Number(c.transferId));
          uploads?.cancel(Number(c.transferId));
        }
        return redraw();
      }
    }
  };

  // ---- keys: keys.ts decides, this carries out ---------------------------
  const perform = (action: KeyAction): void => {
    switch (action.type) {
      case 'submit':
        return submit();
      case 'edit':
        return (keys.mode === MODES.password ? secret : input)[action.op]();
      case 'insert':
        return (keys.mode === MODES.password ? secret : input).insert(action.text);
      case 'submitSecret':
        return submitSecret();
      case 'cancelSecret':
        return cancelSecret();
      case 'complete':
        completer.complete(input, { nicks: model.users, files: model.files.map((f) => f.name), me: model.me });
        return;
      case 'resetCompletion':
        return completer.reset();
      case 'showOnline':
        if (send({ type: 'online' })) model.showNextOnline = true;
        return;
      case 'listFiles':
        if (send({ type: 'files' })) {
          model.showNextFiles = true;
          note('(the window is too narrow for the files panel: /download <file> downloads one)');
        }
        return;
      case 'refreshFiles':
        conn?.send({ type: 'files' });
        return;
      case 'downloadSelected':
        return downloadSelected();
      case 'page': {
        // PgUp with the oldest line already in sight: ask the server for the page before it.
        const older = action.direction > 0 && atTop ? model.history.older() : undefined;
        if (older) conn?.send(older);
        view.scroll(action.direction * Math.max(1, ui.layout.convo.height - 1));
        return;
      }
      case 'repaint':
        ui.screen.realloc();
        return;
      case 'quit':
        void quit();
        return;
      case 'trust':
        void answerTrust(action.accept);
        return;
    }
  };

  const onKey = (ch: string | undefined, key: BlessedKey | undefined): void => {
    if (quitting || !key) return;
    const name = key.full ?? key.name ?? '';
    // Never a key of a password in the log.
    if (keys.mode !== MODES.password) log.trace({ ch, name }, 'key');
    const next = reduceKey(keys, { ch, name, ctrl: key.ctrl, meta: key.meta }, { files: model.files.length, side: ui.layout.side !== undefined });
    keys = next.state;
    for (const action of next.actions) perform(action);
    if (!quitting) redraw();
  };

  ui.screen.on('keypress', onKey);
  ui.screen.on('resize', () => {
    ui.relayout();
    draw();
  });
  ui.convo.on('wheelup', () => {
    view.scroll(3);
    redraw();
  });
  ui.convo.on('wheeldown', () => {
    view.scroll(-3);
    redraw();
  });
  ui.files.on('click', () => {
    if (keys.mode === MODES.chat) keys = withMode(keys, MODES.files);
    redraw();
  });
  ui.screen.enableMouse();

  // A bug must not leave the terminal in the alternate screen with no echo.
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'crashed');
    try {
      ui.destroy();
    } finally {
      process.stderr.write(`parley: ${err.stack ?? String(err)}\n`);
      process.exit(1);
    }
  });
  // Closing the terminal or being told to stop: leave as politely as /quit does.
  // `on`, not `once`: a closed terminal can deliver SIGHUP twice (tmux, then the
  // pty's hangup), and the default action of the second would kill the process
  // before `exit` reached the server (quit() runs once either way).
  for (const signal of ['SIGHUP', 'SIGTERM'] as const) process.on(signal, () => void quit());

  model.server = host ? `${host}:${port}` : 'no server yet';
  model.system('Parley — type /help for commands. F2 online, F3 files, F10 quit.');
  if (!host) {
    keys = withMode(keys, MODES.host);
    model.system(
      `Which server? Type its address (host, host:port${args.tls ? '' : ', or tls://host[:port] for TLS'}) and press Enter; leave it blank for this machine.`,
    );
  } else if (!nick) {
    keys = withMode(keys, MODES.nick);
    model.server = `${host}:${port}`;
    model.system('Choose a nickname and press Enter.');
  } else {
    connect();
  }
  draw();
  return finished;
}
