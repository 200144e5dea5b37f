/**
 * What a server may never put on the user's terminal. Everything the server
 * sends (nicks, message text, file names, error texts) passes through
 * `terminalSafe` before it is drawn by the screen or printed by a scripted
 * command, so a hostile server cannot set the window title (`ESC ] 0 ;`),
 * clear the screen (`ESC [ 2 J`), colour the user's prompt, or reorder what
 * they read with bidi controls.
 */

// C0 controls (TAB is allowed), DEL, C1 controls (U+0080–U+009F: 0x9B is a one-byte CSI).
const CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/gu;
/**
 * Bidi marks, embeddings, overrides and isolates (U+061C, U+200E–200F,
 * U+202A–202E, U+2066–2069): they make text read differently from what it is
 * (issue 13, item 11).
 */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
/** Either of the above, for a yes/no check. */
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** `text` without control characters (except TAB) and bidi controls. Nothing else changes. */
export function terminalSafe(text: string): string {
  return text.replace(CONTROLS, '').replace(BIDI, '');
}

/** True when `text` has a character `terminalSafe` would remove. */
export function hasUnsafeCharacters(text: string): boolean {
  return UNSAFE.test(text);
}
