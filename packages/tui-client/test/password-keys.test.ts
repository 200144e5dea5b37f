import { describe, expect, it } from 'vitest';
import { secretPrompt, secretStep, type SecretAsk } from '../src/model/password-prompt.js';
import { parseInput } from '../src/model/input-parse.js';
import { MODES, initialKeyState, promptFor, reduceKey, type KeyContext, type KeyPress, type KeyState, type Mode } from '../src/ui/keys.js';

const ctx: KeyContext = { files: 3, side: true };
const key = (name: string, ch?: string): KeyPress => ({ name, ch });
const char = (ch: string): KeyPress => ({ name: ch, ch });

function press(mode: Mode, keys: KeyPress[]) {
  let state: KeyState = initialKeyState(mode);
  const actions = [];
  for (const k of keys) {
    const r = reduceKey(state, k, ctx);
    state = r.state;
    actions.push(...r.actions);
  }
  return { state, actions };
}

describe('the password mode of the key reducer', () => {
  it('types and edits the masked line, submits it with Enter, and stays in password mode', () => {
    const r = press(MODES.password, [char('p'), char('w'), key('backspace'), key('C-u'), char('é'), key('enter'), key('return')]);
    expect(r.actions).toEqual([
      { type: 'insert', text: 'p' },
      { type: 'insert', text: 'w' },
      { type: 'edit', op: 'backspace' },
      { type: 'edit', op: 'killToStart' },
      { type: 'insert', text: 'é' },
      { type: 'submitSecret' },
    ]);
    expect(r.state.mode).toBe(MODES.password);
  });

  it('has no history, no completion and no side panels: a password cannot be recalled or leak into a list', () => {
    const r = press(MODES.password, [key('up'), key('down'), key('tab'), key('f2'), key('f3')]);
    expect(r.actions).toEqual([]);
    expect(r.state.mode).toBe(MODES.password);
  });

  it('Esc gives the password up; F10 asks to quit and n comes back to the password', () => {
    expect(press(MODES.password, [key('escape')]).actions).toEqual([{ type: 'cancelSecret' }]);
    const asked = press(MODES.password, [key('f10')]);
    expect(asked.state.mode).toBe(MODES.confirm);
    expect(press(MODES.password, [key('C-c'), char('n')]).state.mode).toBe(MODES.password);
  });

  it('shows the prompt it is given, and a default one', () => {
    expect(promptFor(MODES.password, { me: 'ann', downloads: 0, secretPrompt: 'Password for ann: ' })).toBe('Password for ann: ');
    expect(promptFor(MODES.password, { me: 'ann', downloads: 0 })).toBe('Password: ');
  });
});

describe('the password dialogues', () => {
  const run = (ask: SecretAsk, ...entries: string[]) => {
    let a = ask;
    let last = secretStep(a, entries[0] ?? '');
    for (const e of entries) {
      last = secretStep(a, e);
      if (last.kind === 'ask') a = last.ask;
    }
    return last;
  };

  it('logs in with what is typed; an empty entry asks again', () => {
    expect(secretStep({ kind: 'login', nick: 'ann' }, 'hunter22')).toEqual({ kind: 'login', password: 'hunter22' });
    expect(secretStep({ kind: 'login', nick: 'ann' }, '')).toMatchObject({ kind: 'ask', ask: { kind: 'login' }, note: 'no password typed' });
    expect(secretPrompt({ kind: 'login', nick: 'ann' })).toMatch(/^Password for ann/u);
  });

  it('/register asks twice and sends register only when both match', () => {
    expect(run({ kind: 'register' }, 'correct horse', 'correct horse')).toEqual({ kind: 'send', command: { type: 'register', password: 'correct horse' } });
    const differ = run({ kind: 'register' }, 'correct horse', 'correct hose');
    expect(differ).toMatchObject({ kind: 'ask', ask: { kind: 'register' }, note: 'the two passwords differ; start again' });
    // The note never repeats a password.
    expect(JSON.stringify((differ as { note: string }).note)).not.toMatch(/horse|hose/u);
  });

  it('/password asks the old one, then the new one twice', () => {
    expect(run({ kind: 'password-old' }, 'old-pass1', 'new-pass1', 'new-pass1')).toEqual({
      kind: 'send',
      command: { type: 'password', old: 'old-pass1', new: 'new-pass1' },
    });
    expect(run({ kind: 'password-old' }, 'old-pass1', 'new-pass1', 'new-pass2')).toMatchObject({
      kind: 'ask',
      ask: { kind: 'password-new', old: 'old-pass1' },
    });
  });

  it('/unregister asks once', () => {
    expect(secretStep({ kind: 'unregister' }, 'pw-12345')).toEqual({ kind: 'send', command: { type: 'unregister', password: 'pw-12345' } });
  });
});

describe('account commands typed on the line', () => {
  const ctx2 = { onlineNick: () => undefined };
  it('/register, /password, /unregister, /login start a masked dialogue', () => {
    for (const w of ['register', 'password', 'unregister', 'login'] as const) expect(parseInput(`/${w}`, ctx2)).toEqual({ kind: 'account', action: w });
  });

  it('a password typed on the line is never sent, and the line is marked secret (wiped, not kept in the history)', () => {
    expect(parseInput('/register hunter22', ctx2)).toMatchObject({ kind: 'refuse', secret: true });
    for (const line of ['register,hunter22', 'login,hunter22', 'password,a,b', 'Unregister,x']) {
      const r = parseInput(line, ctx2);
      expect(r).toMatchObject({ kind: 'refuse', secret: true });
      // No second-Enter broadcast of it.
      expect(r).not.toHaveProperty('anyway');
      expect((r as { reason: string }).reason).not.toMatch(/hunter22/u);
    }
  });
});
