import { describe, expect, it } from 'vitest';
import {
  INITIAL_LINK,
  initialLink,
  inCluster,
  isHealthy,
  isLinked,
  LinkPhase,
  nextLink,
  shouldJoinNow,
  tickAction,
  type LinkEvent,
  type LinkState,
} from '../src/cluster/link-state.js';

/** The Redis hub's link to the cluster, driven without Redis: events in, states out, time as numbers. */

const T = { leaseMs: 1000, heartbeatMs: 200 };

function run(events: LinkEvent[], from: LinkState = INITIAL_LINK): LinkState {
  return events.reduce((s, e) => nextLink(s, e, T), from);
}

/** Connected and through its first SYNC at time `at`. */
function linkedAt(at: number): LinkState {
  return run([{ type: 'cmd-up' }, { type: 'sub-up' }, { type: 'sync-sent' }, { type: 'synced', now: at, registered: true, stale: false }]);
}

describe('cluster link state', () => {
  it('joins only once both connections are up, and is out of the cluster until its SYNC answers', () => {
    expect(INITIAL_LINK.phase).toBe(LinkPhase.Starting);
    const cmd = run([{ type: 'cmd-up' }]);
    expect(shouldJoinNow(cmd)).toBe(false);
    expect(tickAction(cmd, 0, T)).toBe('none');
    const both = run([{ type: 'sub-up' }], cmd);
    expect(shouldJoinNow(both)).toBe(true);
    const syncing = run([{ type: 'sync-sent' }], both);
    expect(syncing.phase).toBe(LinkPhase.Syncing);
    expect(shouldJoinNow(syncing)).toBe(false);
    expect(tickAction(syncing, 0, T)).toBe('none');
    expect(isLinked(syncing, 0, T)).toBe(false);
  });

  it('with a stream reader, joins only once the reader is up too, and leaves the cluster when the reader drops', () => {
    const both = run([{ type: 'cmd-up' }, { type: 'sub-up' }], initialLink(true));
    expect(shouldJoinNow(both)).toBe(false);
    expect(tickAction(both, 0, T)).toBe('none');
    const all = run([{ type: 'read-up' }], both);
    expect(shouldJoinNow(all)).toBe(true);
    const linked = run([{ type: 'sync-sent' }, { type: 'synced', now: 100, registered: true, stale: false }], all);
    expect(linked.phase).toBe(LinkPhase.Linked);
    const down = run([{ type: 'read-down' }], linked);
    expect(down.phase).toBe(LinkPhase.Unavailable);
    expect(isLinked(down, 101, T)).toBe(false);
    expect(shouldJoinNow(run([{ type: 'read-up' }], down))).toBe(true);
  });

  it('admits new users at once after its first join, even though Redis did not know the node', () => {
    const s = linkedAt(10_000);
    expect(s.phase).toBe(LinkPhase.Linked);
    expect(isHealthy(s, 10_000, T)).toBe(true);
  });

  it('heartbeats while linked, and syncs instead once a lease passed without a successful heartbeat', () => {
    const s = linkedAt(10_000);
    expect(tickAction(s, 10_200, T)).toBe('heartbeat');
    const beaten = run(
      [
        { type: 'beat', now: 10_400 },
        { type: 'echo', now: 10_400 },
      ],
      s,
    );
    expect(isLinked(beaten, 11_399, T)).toBe(true);
    expect(isLinked(beaten, 11_400, T)).toBe(false);
    expect(tickAction(beaten, 11_400, T)).toBe('sync');
  });

  it('stops routing through Redis when its heartbeat echo has not come back for a lease, and reconnects a silent subscriber', () => {
    const s = run([{ type: 'beat', now: 10_900 }], linkedAt(10_000));
    // The SYNC counts as an echo one heartbeat ago: 9800.
    expect(isLinked(s, 10_799, T)).toBe(true);
    expect(isLinked(s, 10_800, T)).toBe(false);
    expect(tickAction(s, 10_999, T)).toBe('heartbeat');
    expect(tickAction(s, 11_000, T)).toBe('reconnect-subscriber');
  });

  it('leaves the cluster when a connection closes, stays out while it is down, and joins again when it is back', () => {
    const down = run([{ type: 'sub-down' }], linkedAt(0));
    expect(down.phase).toBe(LinkPhase.Unavailable);
    expect(isLinked(down, 1, T)).toBe(false);
    expect(tickAction(down, 1, T)).toBe('none');
    expect(shouldJoinNow(down)).toBe(false);
    const back = run([{ type: 'sub-up' }], down);
    expect(shouldJoinNow(back)).toBe(true);
    expect(tickAction(back, 1, T)).toBe('sync');
  });

  it('does not count a SYNC answered after one of its connections closed: it joins again once the connection is back', () => {
    const s = run([{ type: 'cmd-up' }, { type: 'sub-up' }, { type: 'sync-sent' }, { type: 'sub-down' }]);
    expect(s.phase).toBe(LinkPhase.Syncing);
    const answered = run([{ type: 'synced', now: 5, registered: false, stale: false }], s);
    expect(answered.phase).toBe(LinkPhase.Unavailable);
    expect(inCluster(answered)).toBe(false);
    expect(shouldJoinNow(run([{ type: 'sub-up' }], answered))).toBe(true);
  });

  it('after being dropped from the cluster, refuses new users for one lease on its clock while it routes messages at once', () => {
    const dropped = run(
      [{ type: 'sub-down' }, { type: 'sub-up' }, { type: 'sync-sent' }, { type: 'synced', now: 50_000, registered: true, stale: false }],
      linkedAt(0),
    );
    expect(dropped.phase).toBe(LinkPhase.Linked);
    expect(isLinked(dropped, 50_000, T)).toBe(true);
    expect(isHealthy(dropped, 50_999, T)).toBe(false);
    const renewed = run(
      [
        { type: 'beat', now: 51_000 },
        { type: 'echo', now: 51_000 },
      ],
      dropped,
    );
    expect(isHealthy(renewed, 51_000, T)).toBe(true);
  });

  it('a rejoin that Redis remembers (not dropped) admits at once', () => {
    const s = run(
      [{ type: 'cmd-down' }, { type: 'cmd-up' }, { type: 'sync-sent' }, { type: 'synced', now: 3000, registered: false, stale: false }],
      linkedAt(0),
    );
    expect(isHealthy(s, 3000, T)).toBe(true);
  });

  it('syncs on the next tick when something may have been missed, and stays stale when that SYNC fails', () => {
    const stale = run([{ type: 'stale' }], linkedAt(0));
    expect(stale.phase).toBe(LinkPhase.Stale);
    expect(isLinked(stale, 100, T)).toBe(true);
    expect(tickAction(stale, 100, T)).toBe('sync');
    const resyncing = run([{ type: 'sync-sent' }], stale);
    expect(resyncing.phase).toBe(LinkPhase.Resyncing);
    expect(isLinked(resyncing, 100, T)).toBe(true);
    expect(run([{ type: 'sync-failed' }], resyncing).phase).toBe(LinkPhase.Stale);
    expect(run([{ type: 'synced', now: 200, registered: false, stale: true }], resyncing).phase).toBe(LinkPhase.Stale);
    expect(run([{ type: 'synced', now: 200, registered: false, stale: false }], resyncing).phase).toBe(LinkPhase.Linked);
  });

  it('a failed first SYNC leaves it unavailable, to retry on the next tick', () => {
    const s = run([{ type: 'cmd-up' }, { type: 'sub-up' }, { type: 'sync-sent' }, { type: 'sync-failed' }]);
    expect(s.phase).toBe(LinkPhase.Unavailable);
    expect(tickAction(s, 0, T)).toBe('sync');
  });

  it('leaves the cluster only when heartbeats have failed for a whole lease', () => {
    const s = linkedAt(0);
    expect(run([{ type: 'beat-failed', now: 999 }], s).phase).toBe(LinkPhase.Linked);
    expect(run([{ type: 'beat-failed', now: 1000 }], s).phase).toBe(LinkPhase.Unavailable);
  });

  it('once closed, ignores everything but whether the command connection is up (for its goodbye)', () => {
    const closed = run([{ type: 'close' }], linkedAt(0));
    expect(closed.phase).toBe(LinkPhase.Closed);
    expect(isLinked(closed, 1, T)).toBe(false);
    expect(tickAction(closed, 1, T)).toBe('none');
    for (const e of [{ type: 'sub-up' }, { type: 'sync-sent' }, { type: 'stale' }, { type: 'synced', now: 2, registered: false, stale: false }] as const) {
      expect(run([e], closed)).toBe(closed);
    }
    expect(run([{ type: 'cmd-down' }], closed)).toMatchObject({ phase: LinkPhase.Closed, cmdUp: false });
  });
});
