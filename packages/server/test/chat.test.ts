import { afterEach, describe, expect, it } from 'vitest';
import { decodeEvent } from '@parley/protocol';
import { startTestServer, type TestServer } from './helpers.js';

let t: TestServer;
afterEach(async () => {
  await t?.stop();
});

const isError = (code: string) => (l: string) => l.startsWith(`error ${code} `);

describe('joining', () => {
  it('prompts for a nickname, then welcomes the user with who is online', async () => {
    t = await startTestServer();
    const alice = await t.connect();
    await alice.waitFor((l) => l.startsWith('info :') && l.includes('nickname'));
    alice.send('alice');
    const welcome = await alice.waitFor((l) => l.startsWith('welcome '));
    expect(decodeEvent(welcome)).toMatchObject({ type: 'welcome', version: 2, nick: 'alice' });
    expect(await alice.waitFor((l) => l.startsWith('online '))).toBe('online 1 alice');
    const bob = await t.join('bob');
    expect(bob.lines).toContain('online 2 alice bob');
    await alice.waitFor((l) => l === 'joined bob');
  });

  it('never lets a join or leave notice be overtaken by what that user says', async () => {
    t = await startTestServer();
    const alice = await t.join('alice');
    const bob = await t.connect();
    // Nickname, a message and leaving in one packet: the notices may wait for a
    // shared write, the message may not, and alice must still read them in order.
    bob.write('bob\nbroadcast,first words\nexit\n');
    await alice.waitFor((l) => l.startsWith('left bob'));
    const seen = alice.lines.filter((l) => / bob\b/.test(l));
    expect(seen).toEqual(['joined bob', 'broadcast bob :first words', 'left bob quit']);
  });

  it('refuses a second client with the same nickname in any case, says how many are online (not who), and lets it pick another', async () => {
    t = await startTestServer();
    const alice = await t.join('alice');
    const imposter = await t.connect();
    const err = await imposter.ask('ALICE', isError('NICK_TAKEN'));
    expect(err).toBe('error NICK_TAKEN :nickname "ALICE" is taken (1 user online). Send another nickname.');
    await imposter.ask('alice2', (l) => l.startsWith('welcome 2 alice2 '));
    // Nothing but the error came between: no online list before login.
    expect(imposter.lines.filter((l) => !l.startsWith('info '))).toEqual([err, imposter.lines.find((l) => l.startsWith('welcome ')), 'online 2 alice alice2']);
    await alice.waitFor((l) => l === 'joined alice2');
    expect(alice.lines.filter((l) => l.startsWith('joined'))).toEqual(['joined alice2']);
  });

  it('refuses invalid and reserved nicknames with their own codes', async () => {
    t = await startTestServer();
    const c = await t.connect();
    expect(await c.ask('bob smith', isError('NICK_INVALID'))).toContain('letters, digits');
    expect(await c.ask('broadcast,hi', isError('NICK_INVALID'))).toBeTruthy();
    expect(await c.ask('Online', isError('NICK_RESERVED'))).toContain('"Online" is a command word');
    expect(await c.ask('x'.repeat(30), isError('NICK_INVALID'))).toContain('longer than 24');
    await c.ask('carol', (l) => l.startsWith('welcome '));
  });

  it('turns away a client when the server is full, with a reason', async () => {
    t = await startTestServer({ maxClients: 2 });
    await t.join('a');
    await t.join('b');
    const c = await t.connect();
    await c.waitFor((l) => l.startsWith('bye SERVER_FULL :server is full (2 users)'));
    await c.waitClosed();
  });

  it('disconnects a connection that never sends a nickname', async () => {
    t = await startTestServer({ joinTimeoutMs: 150 });
    const c = await t.connect();
    await c.waitFor((l) => l.startsWith('bye JOIN_TIMEOUT '));
    await c.waitClosed();
    expect(t.server.connections).toBe(0);
  });
});

describe('chatting in the original grammar', () => {
  it('delivers a broadcast to every other user and not back to the sender', async () => {
    t = await startTestServer();
    const alice = await t.join('alice');
    const bob = await t.join('bob');
    const carol = await t.join('carol');
    alice.send('broadcast,hello, everyone 👋');
    await bob.waitFor((l) => l === 'broadcast alice :hello, everyone 👋');
    await carol.waitFor((l) => l === 'broadcast alice :hello, everyone 👋');
    await alice.ask('online', (l) => l.startsWith('online 3'));
    expect(alice.lines.some((l) => l.startsWith('broadcast'))).toBe(false);
  });

  it('delivers a private message to exactly one user, matching the nickname in any case', async () => {
    t = await startTestServer();
    const alice = await t.join('alice');
    const bob = await t.join('Bob');
    const carol = await t.join('carol');
    alice.send('bob,psst, only you');
    await bob.waitFor((l) => l === 'private alice Bob :psst, only you');
    carol.send('broadcast,marker');
    await alice.waitFor((l) => l === 'broadcast carol :marker');
    // carol's own answer is the marker on her socket: a misrouted copy would have come before it.
    await carol.ask('online', (l) => l.startsWith('online '));
    expect(carol.lines.some((l) => l.startsWith('private'))).toBe(false);
  });

  it('tells the sender when the recipient is not online and sends nothing to anyone', async () => {
    t = await startTestServer();
    const alice = await t.join('alice');
    const bob = await t.join('bob');
    const err = await alice.ask('dave,are you there?', isError('UNKNOWN_USER'));
    expect(err).toContain('no user "dave" is online; your message was not sent');
    alice.send('bob,marker');
    await bob.waitFor((l) => l === 'private alice bob :marker');
    expect(bob.lines.filter((l) => l.includes('are you there'))).toEqual([]);
  });

  it('lists who is online, sorted', async () => {
    t = await startTestServer();
    const zed = await t.join('zed');
    await t.join('Amy');
    await t.join('bob');
    expect(await zed.ask('online', (l) => l.startsWith('online '))).toBe('online 3 Amy bob zed');
  });

  it('answers help with the commands', async () => {
    t = await startTestServer();
    const a = await t.join('a');
    await a.ask('help', (l) => l.includes('download,<file>'));
  });

  it('says goodbye on exit and everyone else sees the user leave', async () => {
    t = await startTestServer();
    const alice = await t.join('alice');
    const bob = await t.join('bob');
    await alice.ask('exit', (l) => l === 'bye QUIT :goodbye, alice');
    await alice.waitClosed();
    await bob.waitFor((l) => l === 'left alice quit');
    expect(await bob.ask('online', (l) => l.startsWith('online '))).toBe('online 1 bob');
  });

  it('treats a closed socket as leaving', async () => {
    t = await startTestServer();
    const alice = await t.join('alice');
    const bob = await t.join('bob');
    alice.close();
    await bob.waitFor((l) => l === 'left alice disconnected');
    const again = await t.join('alice');
    expect(again.lines.some((l) => l.startsWith('welcome 2 alice '))).toBe(true);
  });
});

describe('large rooms', () => {
  it('stops announcing joins and leaves above the announce limit, and still lists everyone on request', async () => {
    t = await startTestServer({ announceLimit: 2 });
    const a = await t.join('a');
    await t.join('b');
    await a.waitFor((l) => l === 'joined b');
    const c = await t.connect();
    const welcome = await c.ask('c', (l) => l.startsWith('welcome '));
    expect(welcome).toContain('large room');
    expect(await c.ask('online', (l) => l.startsWith('online '))).toBe('online 3 a b c');
    expect(c.lines.filter((l) => l.startsWith('online '))).toHaveLength(1);
    c.send('broadcast,marker');
    await a.waitFor((l) => l === 'broadcast c :marker');
    expect(a.lines).not.toContain('joined c');
  });
});

describe('answers in order', () => {
  it('answers commands sent in one burst (as piped into nc) in the order they were sent', async () => {
    t = await startTestServer();
    const bob = await t.join('bob');
    const alice = await t.connect();
    alice.write('alice\nonline\nfiles\nbroadcast,hi\ncarol,hi\nhelp\nexit\n');
    await alice.waitClosed();
    const kinds = alice.lines.map((l) => l.split(' ')[0]);
    // A client that sends its nickname at once is not prompted for one.
    expect(kinds.slice(0, 5)).toEqual(['welcome', 'online', 'online', 'files', 'error']);
    expect(kinds.at(-1)).toBe('bye');
    expect(alice.lines[4]).toMatch(/^error UNKNOWN_USER /u);
    await bob.waitFor((l) => l === 'broadcast alice :hi');
  });
});

describe('half-closed connections', () => {
  it('answers everything a client sent before it closed its side (nc -N), then says goodbye', async () => {
    t = await startTestServer();
    const bob = await t.join('bob');
    const alice = await t.connect();
    alice.socket.end('alice\nfiles\nonline\nbroadcast,bye all\n');
    await alice.waitClosed();
    expect(alice.lines.map((l) => l.split(' ')[0])).toEqual(['welcome', 'online', 'files', 'online', 'bye']);
    await bob.waitFor((l) => l === 'broadcast alice :bye all');
    await bob.waitFor((l) => l === 'left alice disconnected');
  });
});

describe('bad input gets a clear error and nobody else notices', () => {
  it('answers unknown commands, empty messages, control characters and bad arguments, and goes on', async () => {
    t = await startTestServer();
    const alice = await t.join('alice');
    const bob = await t.join('bob');
    expect(await alice.ask('hello there', isError('UNKNOWN_COMMAND'))).toContain('broadcast,<text>');
    await alice.ask('broadcast,', isError('EMPTY_MESSAGE'));
    await alice.ask('broadcast,\u001b[2Jcleared!', isError('BAD_TEXT'));
    await alice.ask('online,now', isError('BAD_ARGUMENTS'));
    await alice.ask('download,', isError('BAD_ARGUMENTS'));
    alice.send('broadcast,still here');
    await bob.waitFor((l) => l === 'broadcast alice :still here');
    expect(bob.lines.filter((l) => l.startsWith('error') || l.includes('cleared'))).toEqual([]);
  });

  it('drops an oversized line with LINE_TOO_LONG and keeps the connection', async () => {
    t = await startTestServer({ maxLineBytes: 100 });
    const alice = await t.join('alice');
    const bob = await t.join('bob');
    const from = alice.lines.length;
    alice.write(`broadcast,${'x'.repeat(5000)}\nbroadcast,after\n`);
    expect(await alice.waitFor(isError('LINE_TOO_LONG'), 5000, from)).toContain('longer than 100 bytes');
    await bob.waitFor((l) => l === 'broadcast alice :after');
    expect(bob.lines.some((l) => l.includes('xxxx'))).toBe(false);
  });

  it('rejects invalid UTF-8 with INVALID_UTF8', async () => {
    t = await startTestServer();
    const alice = await t.join('alice');
    const bob = await t.join('bob');
    const from = alice.lines.length;
    alice.write(Buffer.concat([Buffer.from('broadcast,bad '), Buffer.from([0xff, 0xfe]), Buffer.from('\nbroadcast,good\n')]));
    await alice.waitFor(isError('INVALID_UTF8'), 5000, from);
    await bob.waitFor((l) => l === 'broadcast alice :good');
    expect(bob.lines.some((l) => l.includes('bad'))).toBe(false);
  });

  it('rate-limits a flooding client, warns it once, then disconnects it; others are unaffected', async () => {
    t = await startTestServer({ rate: 5, burst: 5, floodDisconnectAfter: 20 });
    const flooder = await t.join('flooder');
    const bob = await t.join('bob');
    flooder.write(Array.from({ length: 60 }, (_, i) => `broadcast,spam ${i}\n`).join(''));
    await flooder.waitFor(isError('RATE_LIMITED'));
    await flooder.waitFor((l) => l.startsWith('bye FLOOD '));
    await flooder.waitClosed();
    await bob.waitFor((l) => l === 'left flooder kicked');
    expect(flooder.lines.filter((l) => l.startsWith('error RATE_LIMITED'))).toHaveLength(1);
    const spam = bob.lines.filter((l) => l.startsWith('broadcast flooder'));
    expect(spam.length).toBeGreaterThanOrEqual(4); // the burst, less the nickname line
    expect(spam.length).toBeLessThan(10);
    const carol = await t.join('carol');
    carol.send('broadcast,hi');
    await bob.waitFor((l) => l === 'broadcast carol :hi');
  });

  it('drops a client that stops reading, without holding up anyone else', async () => {
    t = await startTestServer({ maxQueuedBytes: 64 * 1024, rate: 100_000, burst: 100_000 });
    const slow = await t.join('slow');
    const talker = await t.join('talker');
    const reader = await t.join('reader');
    slow.socket.pause();
    const text = 'y'.repeat(3000);
    let sent = 0;
    // Enough to fill the kernel's socket buffers and then our queue.
    while (sent < 10_000) {
      talker.write(Array.from({ length: 100 }, () => `broadcast,${text}\n`).join(''));
      sent += 100;
      await reader.waitFor(() => reader.lines.filter((l) => l.startsWith('broadcast talker')).length >= sent, 20_000);
      if (t.server.stats.disconnects.get('SLOW_READER')) break;
    }
    await reader.waitFor((l) => l === 'left slow kicked', 10_000);
    expect(t.server.stats.disconnects.get('SLOW_READER')).toBe(1);
    talker.send('broadcast,done');
    await reader.waitFor((l) => l === 'broadcast talker :done');
  });
});

describe('liveness', () => {
  it('pings an idle client, keeps it while it answers, and drops it when it stays silent', async () => {
    t = await startTestServer({ pingIntervalMs: 100, idleTimeoutMs: 600 });
    const quiet = await t.join('quiet');
    const chatty = await t.join('chatty');
    chatty.autoPong = true;
    await chatty.waitFor((l) => l === 'left quiet timeout', 5000);
    expect(quiet.lines.some((l) => l.startsWith('ping '))).toBe(true);
    await quiet.waitFor((l) => l.startsWith('bye IDLE_TIMEOUT '));
    expect(chatty.closed).toBe(false);
  });
});

describe('shutdown', () => {
  it('tells every client, stops accepting, and closes within the bound', async () => {
    t = await startTestServer();
    const a = await t.join('a');
    const b = await t.join('b');
    const naming = await t.connect();
    await t.server.close(1000);
    for (const c of [a, b, naming]) {
      await c.waitFor((l) => l === 'bye SHUTDOWN :server is shutting down');
      await c.waitClosed();
    }
    expect(a.lines.some((l) => l.startsWith('left'))).toBe(false);
    await expect(t.connect()).rejects.toThrow();
  });
});
