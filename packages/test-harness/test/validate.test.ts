import { describe, expect, it } from 'vitest';
import { globToRegExp, matcher } from '../src/scenario/match.js';
import { listScenarioFiles, loadScenarioFile, parseScenario, resolveScenarioPaths } from '../src/scenario/load.js';
import { ScenarioError, validateScenario } from '../src/scenario/validate.js';

function problems(raw: unknown): string[] {
  try {
    validateScenario(raw, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return [...(err as ScenarioError).problems];
  }
  throw new Error('expected the scenario to be refused');
}

const minimal = { name: 'n', clients: ['alice'], steps: [{ join: 'alice' }] };

describe('scenario validation', () => {
  it('reads a YAML scenario into typed steps with defaults filled in', () => {
    const s = parseScenario(
      `name: two users talk
clients: [alice, bob]
steps:
  - join: [alice, bob]
  - send: alice
    line: "broadcast,hi {bob}"
  - expect: bob
    like: "broadcast alice :*"
    timeout: 250
`,
      'talk.yaml',
    );
    expect(s.name).toBe('two users talk');
    expect(s.needs.size).toBe(0);
    expect(s.steps.map((st) => st.action)).toEqual(['join', 'send', 'expect']);
    expect(s.steps[1]).toMatchObject({ action: 'send', clients: ['alice'], times: 1, payload: { kind: 'lines', lines: ['broadcast,hi {bob}'] } });
    expect(s.steps[2]).toMatchObject({ action: 'expect', timeoutMs: 250, match: { kind: 'like', pattern: 'broadcast alice :*' } });
  });

  it('reads the same scenario from JSON', () => {
    const s = parseScenario(JSON.stringify(minimal), 'minimal.json');
    expect(s.steps).toHaveLength(1);
    expect(s.timeoutMs).toBe(5000);
  });

  it('expands a group into numbered nicknames and lets a step name one member', () => {
    const s = validateScenario({ name: 'n', clients: { crowd: { count: 3, nick: 'u' } }, steps: [{ join: 'crowd' }, { send: 'u2', line: 'online' }] }, 't');
    expect(s.clients.get('crowd')?.nicks).toEqual(['u1', 'u2', 'u3']);
    expect(s.steps[1]).toMatchObject({ clients: ['u2'] });
  });

  it('marks a scenario with server flags, files or signals as needing its own server, and downloads as needing UDP', () => {
    expect(validateScenario({ ...minimal, server: { args: ['--rate', 5] } }, 't').needs.has('own-server')).toBe(true);
    expect(validateScenario({ ...minimal, steps: [{ 'server-signal': 'SIGTERM' }] }, 't').needs.has('own-server')).toBe(true);
    const dl = validateScenario({ ...minimal, steps: [{ download: 'alice', file: 'a.bin', relay: { loss: 0.1 } }] }, 't');
    expect([...dl.needs].sort()).toEqual(['downloads', 'own-server']);
    expect(dl.steps[0]).toMatchObject({ relay: { loss: 0.1, reorder: 0, duplicate: 0, seed: 1 } });
  });

  it('lists every problem at once, each with where it is', () => {
    const found = problems({
      nam: 'typo',
      clients: ['alice'],
      steps: [
        { join: 'bob' },
        { send: 'alice' },
        { expect: 'alice', line: 'x', like: 'y' },
        { dance: 'alice' },
        { join: 'alice', close: 'alice' },
        { expect: 'alice', line: 'x', timeout: -1 },
      ],
    });
    expect(found).toEqual([
      'nam: unknown key (expected one of name, description, timeout, server, needs, clients, steps)',
      'name: a scenario needs a name (a sentence saying what it shows)',
      expect.stringContaining('steps[1] (join): unknown client "bob"'),
      'steps[2] (send): say what to send: line, lines, hex or repeat',
      'steps[3] (expect): give only one of line, like',
      expect.stringContaining('steps[4]: no action'),
      'steps[5]: more than one action (join, close); split it into steps',
      'steps[6] (expect).timeout: must be a positive number of milliseconds',
    ]);
  });

  it('refuses options an action does not take, naming the ones it does', () => {
    expect(problems({ ...minimal, steps: [{ join: 'alice', line: 'x' }] })).toEqual(['steps[1] (join): unknown option "line" (join takes no options)']);
    expect(problems({ ...minimal, steps: [{ sync: 'alice', like: 'x' }] })).toEqual(['steps[1] (sync): unknown option "like" (sync takes timeout)']);
  });

  it('refuses placeholders that name no client or a group', () => {
    const found = problems({
      name: 'n',
      clients: { alice: {}, crowd: { count: 2 } },
      steps: [
        { send: 'alice', line: 'hi {bob}' },
        { expect: 'alice', like: '{crowd} *' },
      ],
    });
    expect(found).toEqual([
      "steps[1] (send).line: {bob} names no client (use {self} or a client's name)",
      "steps[2] (expect).like: {crowd} is a group; only a single client's nickname can be put in text",
    ]);
  });

  it('refuses two clients with the same nickname, bad hex and bad relay probabilities', () => {
    const found = problems({
      name: 'n',
      clients: { a: { nick: 'x' }, b: { nick: 'X' } },
      steps: [
        { send: 'a', hex: 'abc' },
        { download: 'a', file: 'f', relay: { loss: 1.5 } },
      ],
    });
    expect(found).toEqual([
      'clients.b: nickname X is used by two clients',
      'steps[1] (send).hex: must be pairs of hex digits, e.g. "68 69 ff 0a"',
      'steps[2] (download).relay.loss: must be a probability from 0 up to (not including) 1',
    ]);
  });

  it("reads a cluster: server.nodes, each client's node and kill-node steps", () => {
    const s = validateScenario(
      {
        name: 'n',
        server: { nodes: 3 },
        clients: { alice: {}, bob: { node: 2 }, crowd: { count: 2, node: 1 } },
        steps: [{ join: ['alice', 'bob'] }, { 'kill-node': 2 }],
      },
      't',
    );
    expect(s.server.nodes).toBe(3);
    expect(s.needs.has('own-server')).toBe(true);
    expect([...s.clients.values()].map((g) => g.node)).toEqual([0, 2, 1]);
    expect(s.steps[1]).toMatchObject({ action: 'kill-node', node: 2, timeoutMs: 5000 });
    const single = validateScenario(minimal, 't');
    expect(single.server.nodes).toBe(1);
    expect(single.clients.get('alice')?.node).toBe(0);
  });

  it('refuses bad node counts, node indexes, kill-node steps and flags the harness sets on a cluster', () => {
    expect(problems({ ...minimal, server: { nodes: 0 } })).toEqual(['server.nodes: must be a whole number from 1 to 8 (2 or more: a cluster on Redis)']);
    expect(problems({ ...minimal, server: { nodes: 1.5 } })).toHaveLength(1);
    expect(problems({ ...minimal, clients: { alice: { node: 1 } } })).toEqual(['clients.alice.node: must be 0 (set server.nodes to 2 or more for a cluster)']);
    expect(problems({ ...minimal, server: { nodes: 2 }, clients: { alice: { node: 2 } } })).toEqual(['clients.alice.node: must be a node index from 0 to 1']);
    expect(problems({ ...minimal, steps: [{ 'kill-node': 0 }] })).toEqual(['steps[1] (kill-node): kill-node needs a cluster (server.nodes: 2 or more)']);
    expect(problems({ ...minimal, server: { nodes: 2 }, steps: [{ 'kill-node': 2 }] })).toEqual([
      'steps[1] (kill-node): give the index of the node to SIGKILL, from 0 to 1',
    ]);
    expect(problems({ ...minimal, server: { nodes: 2 }, steps: [{ 'kill-node': 'b' }] })).toHaveLength(1);
    expect(problems({ ...minimal, server: { nodes: 2, args: ['--cluster', 'redis://x:1', '--node-id=a'] } })).toEqual([
      'server.args: --cluster is set by the harness on every node of a cluster (server.nodes: 2); leave it out',
      'server.args: --node-id is set by the harness on every node of a cluster (server.nodes: 2); leave it out',
    ]);
  });

  it('refuses a negative check that does not follow a sync or an expect of the same client', () => {
    const two = { name: 'n', clients: ['alice', 'bob'] };
    const absent = { 'expect-absent': 'bob', like: 'broadcast *' };
    expect(problems({ ...two, steps: [{ join: ['alice', 'bob'] }, { send: 'alice', line: 'x' }, absent] })).toEqual([
      'steps[3] (expect-absent): put a sync (or an expect of a later line) for bob right before it: a line still on its way would pass this check',
    ]);
    expect(problems({ ...two, steps: [{ join: ['alice', 'bob'] }, { sync: 'alice' }, absent] })).toHaveLength(1);
    expect(() => validateScenario({ ...two, steps: [{ join: ['alice', 'bob'] }, { sync: 'alice' }, { sync: 'bob' }, absent] }, 't')).not.toThrow();
    expect(() =>
      validateScenario({ ...two, steps: [{ join: ['alice', 'bob'] }, { expect: 'bob', line: 'y' }, { ...absent, 'expect-absent': 'alice' }, absent] }, 't'),
    ).toThrow(/for alice/u);
    const crowd = { name: 'n', clients: { crowd: { count: 2, nick: 'u' } } };
    expect(() => validateScenario({ ...crowd, steps: [{ join: 'crowd' }, { sync: 'crowd' }, { 'expect-absent': 'u2', like: 'x' }] }, 't')).not.toThrow();
  });

  it('names the keys an object takes when it has an unknown one, from the schema', () => {
    expect(
      problems({ ...minimal, server: { arg: [] }, clients: { alice: { nik: 'a' } }, steps: [{ download: 'alice', file: 'f', relay: { lost: 0.1 } }] }),
    ).toEqual([
      'server.arg: unknown key (expected args, files or nodes)',
      'clients.alice.nik: unknown key (expected nick, count, pong or node)',
      'steps[1] (download).relay.lost: unknown key (expected loss, reorder, duplicate or seed)',
    ]);
  });

  it('reports each shape mistake at its own path', () => {
    expect(
      problems({
        ...minimal,
        needs: ['downloads', 'gpu'],
        server: { args: ['--rate', true], files: { '../x': 'text', 'a.bin': { size: -1 } } },
        steps: [{ join: [] }, { send: 'alice', lines: ['ok', 'two\nlines'] }, { 'server-signal': 'SIGKILL' }],
      }),
    ).toEqual([
      'server.args[1]: must be text or a number',
      'server.files.../x: must be a plain file name',
      'server.files.a.bin: must be text, { size: <bytes>, seed: <number> } or { dir: true }',
      'needs[1]: unknown need "gpu" (expected own-server or downloads)',
      'steps[1] (join): name the client(s): a name or a list of names',
      'steps[2] (send).lines[1]: must be a single line',
      'steps[3] (server-signal): the signal must be SIGTERM or SIGINT',
    ]);
  });

  it('reports a YAML syntax error as a scenario problem', () => {
    expect(() => parseScenario('name: [unclosed', 'bad.yaml')).toThrow(ScenarioError);
  });

  it('finds library scenarios by name and refuses an unknown name with the list of known ones', () => {
    expect(resolveScenarioPaths(['broadcast'])[0]).toMatch(/scenarios\/broadcast\.yaml$/u);
    expect(() => resolveScenarioPaths(['no-such-scenario'])).toThrow(/there: .*broadcast/u);
  });

  it('every scenario in the library is valid and says what it shows', () => {
    const files = listScenarioFiles();
    expect(files.length).toBeGreaterThanOrEqual(20);
    for (const f of files) expect(loadScenarioFile(f).name.length).toBeGreaterThan(10);
  });
});

describe('line matching', () => {
  const nickOf = (c: string): string => ({ alice: 'Alice' })[c] ?? c;

  it('treats * as any run of characters and everything else literally', () => {
    expect(globToRegExp('error NICK_TAKEN :*').test('error NICK_TAKEN :nickname "a" (x) is taken')).toBe(true);
    expect(globToRegExp('a.b*').test('axb')).toBe(false);
    expect(globToRegExp('online 2 *').test('online 12 a')).toBe(false);
  });

  it('fills {self} and client names into exact lines', () => {
    const m = matcher({ kind: 'line', text: 'private {alice} {self} :hi' }, 'bob', nickOf);
    expect(m('private Alice bob :hi')).toBe(true);
    expect(m('private alice bob :hi')).toBe(false);
  });

  it('matches decoded events by a subset of their fields and ignores lines that are not events', () => {
    const m = matcher({ kind: 'event', fields: { type: 'files', files: [{ name: 'my photo.jpg' }] } }, 'x', nickOf);
    expect(m('files 1 my%20photo.jpg 10')).toBe(true);
    expect(m('files 1 other.jpg 10')).toBe(false);
    expect(m('not an event at all')).toBe(false);
  });
});
