import { describe, expect, it } from 'vitest';
import { linkJoined, linkNotice, NO_OUTAGE, type LinkChange, type LinkNoticeState } from '../src/net/link-notices.js';

function run(changes: Array<Omit<LinkChange, 'server' | 'quitting'> | 'joined'>, quitting = false): string[] {
  let s: LinkNoticeState = NO_OUTAGE;
  const lines: string[] = [];
  for (const c of changes) {
    if (c === 'joined') {
      s = linkJoined(s);
      continue;
    }
    const r = linkNotice(s, { ...c, server: 'h:1', quitting });
    s = r.state;
    if (r.line) lines.push(r.line);
  }
  return lines;
}

describe('connection notices in the conversation', () => {
  it('says once that the server cannot be reached, however many retries follow', () => {
    const retry = { state: 'reconnecting', detail: 'ECONNREFUSED; retrying in 1 s' } as const;
    expect(run([{ state: 'connecting', detail: '' }, retry, retry, retry])).toEqual(['cannot reach h:1 (ECONNREFUSED); trying again with backoff (F10 quits)']);
  });
  it('says a working connection was lost, then nothing more until it is back and lost again', () => {
    const lost = { state: 'reconnecting', detail: 'ECONNRESET; retrying in 1 s' } as const;
    const online = { state: 'online', detail: '' } as const;
    expect(run([online, 'joined', lost, lost, online, 'joined', lost])).toEqual([
      'lost the connection to h:1 (ECONNRESET); reconnecting…',
      'lost the connection to h:1 (ECONNRESET); reconnecting…',
    ]);
  });
  it('says why it closed, unless the user is quitting', () => {
    expect(run([{ state: 'closed', detail: 'server said bye' }])).toEqual(['disconnected: server said bye']);
    expect(run([{ state: 'closed', detail: 'server said bye' }], true)).toEqual([]);
  });
});
