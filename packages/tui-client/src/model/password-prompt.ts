import type { Command } from '@parley/protocol';

/**
 * The masked password dialogues as an explicit state machine (PROTOCOL.md
 * §2.4): what is being asked, and what an entered password leads to. Pure:
 * `app.ts` shows the prompt in the `password` key mode and sends the result.
 *
 *   login ──pw──▶ (log in)
 *   register ──pw──▶ register-again ──same──▶ (register,<pw>) · ──differs──▶ register
 *   password-old ──pw──▶ password-new ──pw──▶ password-again ──same──▶ (password,<old>,<new>) · ──differs──▶ password-new
 *   unregister ──pw──▶ (unregister,<pw>)
 *
 * An empty entry asks the same question again. Passwords live only in these
 * values (in memory) and in the command sent; nothing here logs or stores them.
 */
export type SecretAsk =
  | { readonly kind: 'login'; readonly nick: string }
  | { readonly kind: 'register' }
  | { readonly kind: 'register-again'; readonly first: string }
  | { readonly kind: 'password-old' }
  | { readonly kind: 'password-new'; readonly old: string }
  | { readonly kind: 'password-again'; readonly old: string; readonly first: string }
  | { readonly kind: 'unregister' };

export type SecretStep =
  /** Ask the next question (`note`, when set, says why: e.g. the two entries differed). */
  | { readonly kind: 'ask'; readonly ask: SecretAsk; readonly note?: string }
  /** Log in with this password (the connection sends `login,` and keeps it for reconnects). */
  | { readonly kind: 'login'; readonly password: string }
  /** Send this account command. */
  | { readonly kind: 'send'; readonly command: Command };

/** The prompt shown before the masked input. */
export function secretPrompt(ask: SecretAsk): string {
  switch (ask.kind) {
    case 'login':
      return `Password for ${ask.nick} (Esc: another nickname): `;
    case 'register':
      return 'New password for this nickname (Esc cancels): ';
    case 'register-again':
    case 'password-again':
      return 'The same password again: ';
    case 'password-old':
      return 'Current password (Esc cancels): ';
    case 'password-new':
      return 'New password: ';
    case 'unregister':
      return 'Password, to unregister this nickname (Esc cancels): ';
  }
}

/** What the password `entered` at `ask` leads to. */
export function secretStep(ask: SecretAsk, entered: string): SecretStep {
  if (entered === '') return { kind: 'ask', ask, note: 'no password typed' };
  switch (ask.kind) {
    case 'login':
      return { kind: 'login', password: entered };
    case 'register':
      return { kind: 'ask', ask: { kind: 'register-again', first: entered } };
    case 'register-again':
      if (entered !== ask.first) return { kind: 'ask', ask: { kind: 'register' }, note: 'the two passwords differ; start again' };
      return { kind: 'send', command: { type: 'register', password: entered } };
    case 'password-old':
      return { kind: 'ask', ask: { kind: 'password-new', old: entered } };
    case 'password-new':
      return { kind: 'ask', ask: { kind: 'password-again', old: ask.old, first: entered } };
    case 'password-again':
      if (entered !== ask.first)
        return { kind: 'ask', ask: { kind: 'password-new', old: ask.old }, note: 'the two new passwords differ; type the new one again' };
      return { kind: 'send', command: { type: 'password', old: ask.old, new: entered } };
    case 'unregister':
      return { kind: 'send', command: { type: 'unregister', password: entered } };
  }
}
