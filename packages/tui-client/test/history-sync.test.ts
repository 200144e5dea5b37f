import { describe, expect, it } from 'vitest';
import type { ServerEvent } from '@parley/protocol';
import { ChatModel, EARLIER_MARKER, MISSED_MARKER } from '../src/model/chat-model.js';

const T = '2026-12-06T16:05:03.123Z';
const live = (id: string | undefined, text: string): ServerEvent => ({ type: 'broadcast', from: 'al', text, ...(id ? { id, time: T } : {}) });
const stored = (id: string, text: string): ServerEvent => ({ type: 'history', message: { type: 'broadcast', from: 'al', text, id, time: T } });
const end = (form: 'join' | 'after' | 'before', count: number, more = false): ServerEvent => ({ type: 'history-end', form, count, more });
const shown = (m: ChatModel): string[] => m.messages.all.filter((x) => x.kind !== 'info').map((x) => (x.earlier ? `(dim) ${x.text}` : x.text));

function joined(m: ChatModel, version: number, rejoined: boolean): unknown[] {
  m.apply({ type: 'welcome', version, nick: 'me', text: 'hi' });
  return m.history.joined(m.serverVersion, rejoined);
}

describe('the client side of history (pure model)', () => {
  it('sends nothing new to a version-1 server and shows its lines as before', () => {
    const m = new ChatModel();
    expect(joined(m, 1, false)).toEqual([]);
    m.apply(live(undefined, 'hello'));
    expect(shown(m)).toEqual(['hello']);
  });

  it('drops live lines during a catch-up (the answers carry them) and shows each missed message once, in order', () => {
    const m = new ChatModel();
    expect(joined(m, 2, false)).toEqual([{ type: 'ids', on: true }]);
    for (const e of [stored('1', 'a'), stored('2', 'b'), end('join', 2), { type: 'ids', on: true } as ServerEvent, live('3', 'c')]) m.apply(e);
    expect(shown(m)).toEqual(['(dim) a', '(dim) b', EARLIER_MARKER, 'c']);

    // Dropped and back: everything after 3.
    expect(joined(m, 2, true)).toEqual([
      { type: 'ids', on: true },
      { type: 'history', query: { form: 'after', id: '3', count: 500 } },
    ]);
    const effects = [
      stored('4', 'd'),
      stored('5', 'e'),
      end('join', 2), // the replay on join: skipped, the catch-up has them
      live(undefined, 'f'), // before `ids on`: in the answer
      { type: 'ids', on: true } as ServerEvent,
      live('7', 'g'), // after `ids on`, before the answer: in it too
      stored('4', 'd'),
      stored('5', 'e'),
      stored('6', 'f'),
      end('after', 3, true),
    ].map((e) => m.apply(e));
    expect(effects.at(-1)).toEqual({ send: { type: 'history', query: { form: 'after', id: '6', count: 500 } } });
    for (const e of [stored('7', 'g'), end('after', 1), live('8', 'h'), live('8', 'h')]) m.apply(e);
    expect(shown(m)).toEqual(['(dim) a', '(dim) b', EARLIER_MARKER, 'c', MISSED_MARKER, 'd', 'e', 'f', 'g', 'h']);
  });

  it('learns the ids of lines that came before ids were on, so a later catch-up does not show them twice', () => {
    const m = new ChatModel();
    joined(m, 2, false);
    for (const e of [stored('1', 'a'), end('join', 1)]) m.apply(e);
    m.apply(live(undefined, 'b')); // before the server read ids,on
    const effects = m.apply({ type: 'ids', on: true });
    expect(effects).toEqual({ send: { type: 'history', query: { form: 'after', id: '1', count: 500 } } });
    m.apply(live('3', 'c'));
    for (const e of [stored('2', 'b'), stored('3', 'c'), end('after', 2)]) m.apply(e);
    expect(m.history.lastId).toBe('3');
    expect(joined(m, 2, true)).toEqual([
      { type: 'ids', on: true },
      { type: 'history', query: { form: 'after', id: '3', count: 500 } },
    ]);
    for (const e of [end('join', 0), { type: 'ids', on: true } as ServerEvent, stored('4', 'd'), end('after', 1)]) m.apply(e);
    expect(shown(m)).toEqual(['(dim) a', EARLIER_MARKER, 'b', 'c', MISSED_MARKER, 'd']);
  });

  it('never rings for replayed or missed private messages', () => {
    const m = new ChatModel();
    joined(m, 2, false);
    const bell = m.apply({ type: 'history', message: { type: 'private', from: 'al', to: 'me', text: 'psst', id: '1', time: T } }).bell;
    expect(bell).toBeUndefined();
    expect(m.messages.last()).toMatchObject({ kind: 'private-in', earlier: true, at: Date.parse(T) });
  });

  it('gives up on history when the server says HISTORY_OFF, and shows live lines again', () => {
    const m = new ChatModel();
    joined(m, 2, false);
    // The answer to the client's own ids,on is not shown; one to the user's own `history` is.
    m.apply({ type: 'error', code: 'HISTORY_OFF', text: 'this server keeps no history' });
    m.apply(live(undefined, 'plain'));
    expect(shown(m)).toEqual(['plain']);
    expect(m.history.older()).toBeUndefined();
    m.apply({ type: 'error', code: 'HISTORY_OFF', text: 'this server keeps no history' });
    expect(shown(m).at(-1)).toBe('this server keeps no history [HISTORY_OFF]');
  });

  it('pages back only while the server says there is more', () => {
    const m = new ChatModel();
    joined(m, 2, false);
    for (const e of [stored('10', 'j'), end('join', 1, true)]) m.apply(e);
    expect(m.history.older()).toEqual({ type: 'history', query: { form: 'before', id: '10', count: 50 } });
    expect(m.history.older()).toBeUndefined(); // one request at a time
    for (const e of [stored('8', 'h'), stored('9', 'i'), end('before', 2, true)]) m.apply(e);
    expect(shown(m)).toEqual(['(dim) h', '(dim) i', '(dim) j', EARLIER_MARKER]);
    expect(m.history.older()).toEqual({ type: 'history', query: { form: 'before', id: '8', count: 50 } });
    for (const e of [stored('7', 'g'), end('before', 1, false)]) m.apply(e);
    expect(shown(m)).toEqual(['(dim) g', '(dim) h', '(dim) i', '(dim) j', EARLIER_MARKER]);
    expect(m.history.older()).toBeUndefined();
  });
});
