/**
 * The chat screen's input modes as an explicit state machine, and a pure
 * reducer from one key press to the next state plus the actions to carry out.
 * Nothing here touches blessed, the network or the model: `app.ts` feeds it
 * blessed's key events and performs the actions; unit tests drive it directly.
 *
 *   host ──Enter──▶ nick ──Enter──▶ chat ◀──F3/Esc/Tab/typing── files
 *                                    │ ──F3 (side panel shown)──▶ files
 *   any ──F10/Ctrl-C──▶ confirm ──y──▶ (quit)
 *                       confirm ──n/Esc/F10/Ctrl-C──▶ the mode before
 *   trust ──y──▶ (pin, reconnect) · trust ──n/Enter/Esc──▶ (stay disconnected)
 *   password ──Enter──▶ (submitSecret) · password ──Esc──▶ (cancelSecret)
 *
 * (host → nick/chat and nick → chat happen in `app.ts` when the submitted
 * text is valid; a refused nickname goes back to nick. `app.ts` enters trust
 * when a TLS server's certificate is unknown, and leaves it after the answer.
 * In trust nothing is typed: only y pins; the default, like ssh's, is no.
 * `app.ts` enters password when the server asks for the nickname's password
 * or /register, /password, /unregister ask for one; the keys then edit a
 * separate, masked line: no history, no completion, never echoed.)
 */
export const MODES = {
  /** Asking for the server's address. */
  host: 'host',
  /** Asking for a nickname. */
  nick: 'nick',
  /** Typing messages and commands. */
  chat: 'chat',
  /** The files panel has the keys: ↑/↓ choose, Enter downloads. */
  files: 'files',
  /** "Quit Parley? (y/n)". */
  confirm: 'confirm',
  /** "Trust this certificate and pin it? (y/N)": a TLS server's self-signed / unknown-CA certificate on first use. */
  trust: 'trust',
  /** A masked password prompt (the text is shown as `*`, kept out of the input history). */
  password: 'password',
} as const;
export type Mode = (typeof MODES)[keyof typeof MODES];

/** The InputLine edits a key can ask for (method names of `InputLine`). */
export type EditOp =
  | 'backspace'
  | 'delete'
  | 'left'
  | 'right'
  | 'home'
  | 'end'
  | 'wordLeft'
  | 'wordRight'
  | 'deleteWordBack'
  | 'killToStart'
  | 'killToEnd'
  | 'historyUp'
  | 'historyDown';

export type KeyAction =
  /** Enter in host, nick or chat: act on the input line. */
  | { readonly type: 'submit' }
  | { readonly type: 'edit'; readonly op: EditOp }
  | { readonly type: 'insert'; readonly text: string }
  /** Tab in chat: complete a nick, command or file name. */
  | { readonly type: 'complete' }
  /** Any key but Tab ends a run of completions. */
  | { readonly type: 'resetCompletion' }
  /** F2: ask the server who is online and show the answer. */
  | { readonly type: 'showOnline' }
  /** F3 when the window is too narrow for the files panel: print the list instead. */
  | { readonly type: 'listFiles' }
  /** F3 into the files panel: refresh the list. */
  | { readonly type: 'refreshFiles' }
  /** Enter in the files panel. */
  | { readonly type: 'downloadSelected' }
  /** PgUp (+1) / PgDn (−1): scroll the conversation by a page. */
  | { readonly type: 'page'; readonly direction: 1 | -1 }
  /** Ctrl-L. */
  | { readonly type: 'repaint' }
  /** "y" in the quit confirmation. */
  | { readonly type: 'quit' }
  /** The answer in trust: y (pin and connect) or n / Enter / Esc (do not connect). */
  | { readonly type: 'trust'; readonly accept: boolean }
  /** Enter in password: hand the masked line to whoever asked. */
  | { readonly type: 'submitSecret' }
  /** Esc in password: give up this password (the masked line is wiped). */
  | { readonly type: 'cancelSecret' };

export interface KeyState {
  readonly mode: Mode;
  /** The mode the quit confirmation returns to. */
  readonly before: Mode;
  /** The highlighted row of the files panel. */
  readonly selected: number;
  /** The first half of a surrogate pair that arrived as its own key event. */
  readonly pendingHigh: string;
}

/** What a key press is, in blessed's terms: `name` is its `full` name (`C-a`, `f10`, `return`…). */
export interface KeyPress {
  readonly ch?: string | undefined;
  readonly name: string;
  readonly ctrl?: boolean | undefined;
  readonly meta?: boolean | undefined;
}

/** What the reducer needs to know about the screen. */
export interface KeyContext {
  /** Number of files in the panel. */
  readonly files: number;
  /** Whether the side panels (online, files) are shown. */
  readonly side: boolean;
}

export interface KeyResult {
  readonly state: KeyState;
  readonly actions: readonly KeyAction[];
}

export function initialKeyState(mode: Mode): KeyState {
  return { mode, before: MODES.chat, selected: 0, pendingHigh: '' };
}

/** Enters the quit confirmation, remembering where to return. */
export function askQuit(s: KeyState): KeyState {
  return s.mode === MODES.confirm ? s : { ...s, mode: MODES.confirm, before: s.mode };
}

export function withMode(s: KeyState, mode: Mode): KeyState {
  return s.mode === mode ? s : { ...s, mode };
}

const EDIT_KEYS: Readonly<Record<string, EditOp>> = {
  backspace: 'backspace',
  delete: 'delete',
  'C-d': 'delete',
  left: 'left',
  'C-b': 'left',
  right: 'right',
  'C-f': 'right',
  home: 'home',
  'C-a': 'home',
  end: 'end',
  'C-e': 'end',
  'C-left': 'wordLeft',
  'M-b': 'wordLeft',
  'C-right': 'wordRight',
  'M-f': 'wordRight',
  'C-w': 'deleteWordBack',
  'C-u': 'killToStart',
  'C-k': 'killToEnd',
};

const result = (state: KeyState, ...actions: KeyAction[]): KeyResult => ({ state, actions });

/** One key press: the next state and what to do. */
export function reduceKey(s: KeyState, key: KeyPress, ctx: KeyContext): KeyResult {
  const { name, ch } = key;
  // blessed reports a CR first as a made-up "enter", then as "return": act on
  // "return" (and on "linefeed", a bare LF) only.
  if (name === 'enter') return result(s);
  if (s.mode === MODES.confirm) {
    if (ch === 'y' || ch === 'Y') return result(s, { type: 'quit' });
    if (ch === 'n' || ch === 'N' || name === 'escape' || name === 'C-c' || name === 'f10') return result({ ...s, mode: s.before });
    return result(s);
  }
  if (s.mode === MODES.trust) {
    if (name === 'f10' || name === 'C-c') return result(askQuit(s));
    if (ch === 'y' || ch === 'Y') return result(s, { type: 'trust', accept: true });
    if (ch === 'n' || ch === 'N' || name === 'return' || name === 'linefeed' || name === 'escape') return result(s, { type: 'trust', accept: false });
    // Nothing else: no typing, no scrolling away from the question by accident (PgUp/PgDn still scroll).
    if (name === 'pageup' || name === 'pagedown') return result(s, { type: 'page', direction: name === 'pageup' ? 1 : -1 });
    return result(s);
  }
  if (s.mode === MODES.password) return passwordKey(s, key);
  switch (name) {
    case 'f10':
    case 'C-c':
      return result(askQuit(s));
    case 'f2':
      return result(s, { type: 'showOnline' });
    case 'f3':
      if (s.mode === MODES.files) return result(withMode(s, MODES.chat));
      if (s.mode === MODES.chat && !ctx.side) return result(s, { type: 'listFiles' });
      if (s.mode === MODES.chat) return result(withMode(s, MODES.files), { type: 'refreshFiles' });
      return result(s);
    case 'pageup':
      return result(s, { type: 'page', direction: 1 });
    case 'pagedown':
      return result(s, { type: 'page', direction: -1 });
    case 'C-l':
      return result(s, { type: 'repaint' });
    default:
      break;
  }
  if (s.mode === MODES.files) {
    if (name === 'up') return result({ ...s, selected: Math.max(0, s.selected - 1) });
    if (name === 'down') return result({ ...s, selected: Math.min(ctx.files - 1, s.selected + 1) });
    if (name === 'return' || name === 'linefeed') return result(s, { type: 'downloadSelected' });
    if (name === 'escape' || name === 'tab') return result(withMode(s, MODES.chat));
    // Typing leaves the panel and starts a line.
    if (ch && !key.ctrl && !key.meta && ch >= ' ') return editKey(withMode(s, MODES.chat), key);
    return result(s);
  }
  return editKey(s, key);
}

/**
 * A key in the masked password prompt: typing and the editing keys of the
 * line, Enter, Esc; no history (Up/Down), no completion (Tab), no F2/F3.
 */
function passwordKey(s: KeyState, key: KeyPress): KeyResult {
  const { name } = key;
  switch (name) {
    case 'f10':
    case 'C-c':
      return result(askQuit(s));
    case 'return':
    case 'linefeed':
      return result(s, { type: 'submitSecret' });
    case 'escape':
      return result(s, { type: 'cancelSecret' });
    case 'pageup':
    case 'pagedown':
      return result(s, { type: 'page', direction: name === 'pageup' ? 1 : -1 });
    case 'up':
    case 'down':
    case 'tab':
      return result(s);
    default:
      break;
  }
  return strip(editKey(s, key));
}

/** Drops the completion reset: the password line never completes. */
function strip(r: KeyResult): KeyResult {
  return { state: r.state, actions: r.actions.filter((a) => a.type !== 'resetCompletion') };
}

/** A key for the input line (host, nick and chat modes). */
function editKey(s: KeyState, key: KeyPress): KeyResult {
  const { name, ch } = key;
  const actions: KeyAction[] = name === 'tab' ? [] : [{ type: 'resetCompletion' }];
  const op = EDIT_KEYS[name];
  if (op) return result(s, ...actions, { type: 'edit', op });
  switch (name) {
    case 'return':
    case 'linefeed':
      return result(s, ...actions, { type: 'submit' });
    case 'up':
      return result(s, ...actions, ...(s.mode === MODES.chat ? [{ type: 'edit', op: 'historyUp' } as const] : []));
    case 'down':
      return result(s, ...actions, ...(s.mode === MODES.chat ? [{ type: 'edit', op: 'historyDown' } as const] : []));
    case 'tab':
      return result(s, ...(s.mode === MODES.chat ? [{ type: 'complete' } as const] : []));
    case 'escape':
      return result(s, ...actions);
    default:
      break;
  }
  if (!ch || key.ctrl || key.meta) return result(s, ...actions);
  const code = ch.charCodeAt(0);
  // A lone high surrogate: wait for its other half.
  if (code >= 0xd800 && code <= 0xdbff) return result({ ...s, pendingHigh: ch }, ...actions);
  const text = s.pendingHigh + ch;
  const next = s.pendingHigh === '' ? s : { ...s, pendingHigh: '' };
  if (code < 0x20 || code === 0x7f) return result(next, ...actions);
  return result(next, ...actions, { type: 'insert', text });
}

/** The input line's prompt in each mode. */
export function promptFor(mode: Mode, o: { readonly me: string; readonly downloads: number; readonly secretPrompt?: string }): string {
  switch (mode) {
    case MODES.host:
      return 'Server address (blank = this machine): ';
    case MODES.nick:
      return 'Nickname: ';
    case MODES.confirm:
      return o.downloads === 0 ? 'Quit Parley? (y/n) ' : `Quit Parley? ${o.downloads} download${o.downloads === 1 ? '' : 's'} will stop. (y/n) `;
    case MODES.files:
      return '[files] ↑/↓ choose, Enter download, Esc back';
    case MODES.trust:
      return 'Trust this certificate and pin it? (y/N) ';
    case MODES.password:
      return o.secretPrompt ?? 'Password: ';
    case MODES.chat:
      return `[${o.me}] `;
  }
}
