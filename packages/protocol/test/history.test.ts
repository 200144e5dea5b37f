import { describe, expect, it } from 'vitest';
import {
  decodeEvent,
  encodeCommand,
  encodeEvent,
  formatMessageTime,
  HISTORY_MAX_PAGE,
  parseCommand,
  ParleyProtocolError,
  type Command,
  type ServerEvent,
} from '../src/index.js';

function parsed(line: string): Command | null | string {
  const r = parseCommand(line);
  return r.ok ? r.command : r.error.wireCode;
}

const T = '2026-12-06T16:05:03.123Z';

describe('the history and ids commands (protocol 2)', () => {
  it('parses the last N, before an id and after an id', () => {
    expect(parsed('history')).toEqual({ type: 'history', query: { form: 'last', count: 50 } });
    expect(parsed('HISTORY, 20 ')).toEqual({ type: 'history', query: { form: 'last', count: 20 } });
    expect(parsed('history,before,42')).toEqual({ type: 'history', query: { form: 'before', id: '42', count: 50 } });
    expect(parsed('history,Before, 42 ,10')).toEqual({ type: 'history', query: { form: 'before', id: '42', count: 10 } });
    expect(parsed('history,after,1733500000000-0')).toEqual({ type: 'history', query: { form: 'after', id: '1733500000000-0', count: HISTORY_MAX_PAGE } });
    expect(parsed('ids,on')).toEqual({ type: 'ids', on: true });
    expect(parsed(' IDS , Off')).toEqual({ type: 'ids', on: false });
  });

  it('answers every bad form with BAD_ARGUMENTS and says what is allowed', () => {
    for (const line of [
      'history,',
      'history,0',
      'history,-1',
      'history,abc',
      `history,${HISTORY_MAX_PAGE + 1}`,
      'history,1,2',
      'history,before',
      'history,before,',
      'history,after,a b',
      'history,before,42,0',
      'history,before,42,1,2',
      'history,after,:x',
      'ids',
      'ids,maybe',
      'ids,',
    ]) {
      const r = parseCommand(line);
      expect(r.ok, line).toBe(false);
      if (!r.ok) expect([line, r.error.wireCode]).toEqual([line, 'BAD_ARGUMENTS']);
    }
    const cap = parseCommand('history,501');
    expect(!cap.ok && cap.error.message).toContain('1 to 500');
  });

  it('reserves history and ids as nicknames, so history,<text> is no longer a private message', () => {
    expect(parsed('history,hello there')).toBe('BAD_ARGUMENTS');
    expect(parsed('historian,hello')).toEqual({ type: 'private', to: 'historian', text: 'hello' });
  });

  it('round-trips through encodeCommand', () => {
    const commands: Command[] = [
      { type: 'history', query: { form: 'last', count: 7 } },
      { type: 'history', query: { form: 'before', id: '99', count: 50 } },
      { type: 'history', query: { form: 'after', id: '1-0', count: 500 } },
      { type: 'ids', on: true },
      { type: 'ids', on: false },
    ];
    for (const c of commands) expect(parsed(encodeCommand(c))).toEqual(c);
  });
});

describe('message ids on the wire', () => {
  const samples: ServerEvent[] = [
    { type: 'broadcast', from: 'bob', text: 'hi', id: '17', time: T },
    { type: 'private', from: 'bob', to: 'alice', text: 'psst :)', id: '18', time: T },
    { type: 'history', message: { type: 'broadcast', from: 'bob', text: 'earlier', id: '3', time: T } },
    { type: 'history', message: { type: 'private', from: 'bob', to: 'alice', text: 'x', id: '4', time: T } },
    { type: 'history-end', form: 'join', count: 2, more: false },
    { type: 'history-end', form: 'before', count: 50, more: true },
    { type: 'sent', id: '19', time: T },
    { type: 'ids', on: true },
    { type: 'ids', on: false },
  ];

  it('round-trips every new event', () => {
    for (const e of samples) expect(decodeEvent(encodeEvent(e))).toEqual(e);
  });

  it('leaves live lines as they were without ids, and adds id and time before the text with them', () => {
    expect(encodeEvent({ type: 'broadcast', from: 'bob', text: 'hi' })).toBe('broadcast bob :hi');
    expect(encodeEvent({ type: 'broadcast', from: 'bob', text: 'hi', id: '17', time: T })).toBe(`broadcast bob 17 ${T} :hi`);
    expect(encodeEvent({ type: 'private', from: 'bob', to: 'al', text: 'hi', id: '18', time: T })).toBe(`private bob al 18 ${T} :hi`);
    expect(encodeEvent(samples[2] as ServerEvent)).toBe(`history broadcast bob 3 ${T} :earlier`);
    expect(encodeEvent(samples[5] as ServerEvent)).toBe('history end before 50 more');
  });

  it('writes times as UTC with milliseconds', () => {
    expect(formatMessageTime(Date.UTC(2026, 11, 6, 16, 5, 3, 123))).toBe(T);
  });

  it('refuses malformed id lines with BAD_EVENT', () => {
    for (const line of [
      'broadcast bob 17 :hi',
      `broadcast bob 17 ${T} x :hi`,
      'broadcast bob 17 yesterday :hi',
      `history broadcast bob :hi`,
      `history joined bob 1 ${T} :x`,
      'history end join 2',
      'history end sideways 2 all',
      'history end join 2 some',
      'sent 1',
      'ids maybe',
    ]) {
      expect(() => decodeEvent(line), line).toThrow(ParleyProtocolError);
    }
  });
});
