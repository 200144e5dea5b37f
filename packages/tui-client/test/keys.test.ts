import { describe, expect, it } from 'vitest';
import { MODES, askQuit, initialKeyState, promptFor, reduceKey, type KeyContext, type KeyPress, type KeyState, type Mode } from '../src/ui/keys.js';

const wide: KeyContext = { files: 3, side: true };
const narrow: KeyContext = { files: 3, side: false };
const key = (name: string, ch?: string, mods: Partial<KeyPress> = {}): KeyPress => ({ name, ch, ...mods });
const char = (ch: string): KeyPress => ({ name: ch, ch });

/** Presses keys in turn; returns the last state and every action. */
function press(mode: Mode, keys: KeyPress[], ctx = wide, from?: Partial<KeyState>) {
  let state: KeyState = { ...initialKeyState(mode), ...from };
  const actions = [];
  for (const k of keys) {
    const r = reduceKey(state, k, ctx);
    state = r.state;
    actions.push(...r.actions);
  }
  return { state, actions };
}

describe('input modes: the key reducer', () => {
  it('types into the line and submits on Enter (return or linefeed), never on blessed\'s made-up "enter"', () => {
    const r = press(MODES.chat, [char('h'), char('i'), key('enter'), key('return'), key('linefeed')]);
    expect(r.actions.filter((a) => a.type !== 'resetCompletion')).toEqual([
      { type: 'insert', text: 'h' },
      { type: 'insert', text: 'i' },
      { type: 'submit' },
      { type: 'submit' },
    ]);
    expect(r.state.mode).toBe(MODES.chat);
  });

  it('maps editing keys to line edits, and ↑/↓ to history only in chat', () => {
    expect(press(MODES.chat, [key('C-a'), key('C-w'), key('M-f'), key('up')]).actions.filter((a) => a.type === 'edit')).toEqual([
      { type: 'edit', op: 'home' },
      { type: 'edit', op: 'deleteWordBack' },
      { type: 'edit', op: 'wordRight' },
      { type: 'edit', op: 'historyUp' },
    ]);
    expect(press(MODES.nick, [key('up'), key('down')]).actions.filter((a) => a.type === 'edit')).toEqual([]);
  });

  it('completes on Tab in chat only, and any other key ends the completion run', () => {
    expect(press(MODES.chat, [key('tab')]).actions).toEqual([{ type: 'complete' }]);
    expect(press(MODES.host, [key('tab')]).actions).toEqual([]);
    expect(press(MODES.chat, [key('left')]).actions).toEqual([{ type: 'resetCompletion' }, { type: 'edit', op: 'left' }]);
  });

  it('joins a surrogate pair that arrives as two key events, and drops control characters', () => {
    const r = press(MODES.chat, [char('\ud83d'), char('\ude00'), key('x', '\u0007'), key('y', 'y', { ctrl: true })]);
    expect(r.actions.filter((a) => a.type === 'insert')).toEqual([{ type: 'insert', text: '😀' }]);
    expect(r.state.pendingHigh).toBe('');
  });

  it('asks before quitting, from any mode, and goes back to that mode on n, Esc, F10 or Ctrl-C', () => {
    for (const from of [MODES.host, MODES.nick, MODES.chat, MODES.files]) {
      for (const cancel of [char('n'), char('N'), key('escape'), key('f10'), key('C-c')]) {
        const asked = press(from, [key('f10')]);
        expect(asked.state.mode).toBe(MODES.confirm);
        expect(reduceKey(asked.state, cancel, wide)).toEqual({ state: { ...asked.state, mode: from }, actions: [] });
      }
    }
    expect(press(MODES.chat, [key('C-c'), char('y')]).actions).toEqual([{ type: 'quit' }]);
    expect(press(MODES.chat, [key('C-c'), char('Y')]).actions).toEqual([{ type: 'quit' }]);
    // Other keys do nothing while asking; asking again keeps the mode to return to.
    expect(press(MODES.files, [key('f10'), char('q'), key('return')]).state).toMatchObject({ mode: MODES.confirm, before: MODES.files });
    expect(askQuit(askQuit(initialKeyState(MODES.nick)))).toMatchObject({ mode: MODES.confirm, before: MODES.nick });
  });

  it('F3 opens the files panel (refreshing it) and closes it; too narrow for it, it lists the files instead', () => {
    expect(press(MODES.chat, [key('f3')])).toEqual({ state: expect.objectContaining({ mode: MODES.files }), actions: [{ type: 'refreshFiles' }] });
    expect(press(MODES.chat, [key('f3'), key('f3')]).state.mode).toBe(MODES.chat);
    expect(press(MODES.chat, [key('f3')], narrow)).toEqual({ state: expect.objectContaining({ mode: MODES.chat }), actions: [{ type: 'listFiles' }] });
    expect(press(MODES.nick, [key('f3')])).toEqual({ state: expect.objectContaining({ mode: MODES.nick }), actions: [] });
  });

  it('in the files panel ↑/↓ move within the list, Enter downloads, Esc/Tab go back, typing goes back and types', () => {
    expect(press(MODES.files, [key('down'), key('down'), key('down'), key('down')]).state.selected).toBe(2);
    expect(press(MODES.files, [key('up')], wide, { selected: 0 }).state.selected).toBe(0);
    expect(press(MODES.files, [key('return')]).actions).toEqual([{ type: 'downloadSelected' }]);
    expect(press(MODES.files, [key('escape')]).state.mode).toBe(MODES.chat);
    expect(press(MODES.files, [key('tab')]).state.mode).toBe(MODES.chat);
    const typed = press(MODES.files, [char('h')]);
    expect(typed.state.mode).toBe(MODES.chat);
    expect(typed.actions).toContainEqual({ type: 'insert', text: 'h' });
    expect(press(MODES.files, [key('C-x', '\u0018', { ctrl: true })]).state.mode).toBe(MODES.files);
  });

  it('F2, PgUp/PgDn and Ctrl-L work in every mode but the confirmation', () => {
    for (const m of [MODES.host, MODES.nick, MODES.chat, MODES.files]) {
      expect(press(m, [key('f2'), key('pageup'), key('pagedown'), key('C-l')]).actions).toEqual([
        { type: 'showOnline' },
        { type: 'page', direction: 1 },
        { type: 'page', direction: -1 },
        { type: 'repaint' },
      ]);
    }
    expect(press(MODES.chat, [key('f10'), key('f2')]).actions).toEqual([]);
  });

  it('asks about an unknown certificate with no as the default: only y pins, n / Enter / Esc refuse, nothing is typed', () => {
    expect(press(MODES.trust, [char('y')]).actions).toEqual([{ type: 'trust', accept: true }]);
    expect(press(MODES.trust, [char('Y')]).actions).toEqual([{ type: 'trust', accept: true }]);
    for (const k of [char('n'), char('N'), key('return'), key('linefeed'), key('escape')])
      expect(press(MODES.trust, [k]).actions).toEqual([{ type: 'trust', accept: false }]);
    const typed = press(MODES.trust, [char('x'), char('e'), char('s'), key('tab'), key('backspace'), key('f3'), key('up')]);
    expect(typed.actions).toEqual([]);
    expect(typed.state.mode).toBe(MODES.trust);
    expect(promptFor(MODES.trust, { me: 'ann', downloads: 0 })).toBe('Trust this certificate and pin it? (y/N) ');
  });

  it('F10 in the certificate question asks to quit, and n comes back to the question (y there quits, it does not pin)', () => {
    const asked = press(MODES.trust, [key('f10')]);
    expect(asked.state.mode).toBe(MODES.confirm);
    expect(press(MODES.trust, [key('f10'), char('n')]).state.mode).toBe(MODES.trust);
    expect(press(MODES.trust, [key('f10'), char('y')]).actions).toEqual([{ type: 'quit' }]);
  });

  it('prompts for what each mode wants, counting the downloads a quit would stop', () => {
    expect(promptFor(MODES.host, { me: '', downloads: 0 })).toBe('Server address (blank = this machine): ');
    expect(promptFor(MODES.chat, { me: 'ann', downloads: 0 })).toBe('[ann] ');
    expect(promptFor(MODES.confirm, { me: 'ann', downloads: 0 })).toBe('Quit Parley? (y/n) ');
    expect(promptFor(MODES.confirm, { me: 'ann', downloads: 2 })).toBe('Quit Parley? 2 downloads will stop. (y/n) ');
  });
});
