import { describe, expect, it } from 'vitest';
import type { StreamEntry } from '../src/cluster/connections.js';
import { compareIds, isStreamId, mergeRead } from '../src/cluster/stream-reader.js';

/** The stream reader's merge of one XREAD answer (room + inbox), without Redis. */

const e = (id: string): StreamEntry => [id, ['f', 'x', 'x', id]];
const ids = (entries: ReadonlyArray<[string, StreamEntry]>): string[] => entries.map(([source, [id]]) => `${source[0]}${id}`);

describe('stream reader merge', () => {
  it('orders ids by their milliseconds, then their counter, as numbers', () => {
    expect(compareIds('9-0', '10-0')).toBe(-1);
    expect(compareIds('10-2', '10-10')).toBe(-1);
    expect(compareIds('10-10', '10-10')).toBe(0);
    expect(compareIds('11-0', '10-99')).toBe(1);
    expect(isStreamId('1733500000000-0')).toBe(true);
    expect(isStreamId('42')).toBe(false);
    expect(isStreamId('1-2-3')).toBe(false);
  });

  it('delivers the room and the inbox in one id order and reads on from the last of each', () => {
    const { entries, positions } = mergeRead([e('1-0'), e('3-0'), e('3-2')], [e('2-0'), e('3-1')], 10, { room: '0-0', inbox: '0-5' });
    expect(ids(entries)).toEqual(['r1-0', 'i2-0', 'r3-0', 'i3-1', 'r3-2']);
    expect(positions).toEqual({ room: '3-2', inbox: '3-1' });
  });

  it('holds back what lies past the last id of a stream that filled its count: the other may have older entries still unread', () => {
    const { entries, positions } = mergeRead([e('1-0'), e('2-0')], [e('1-5'), e('4-0'), e('5-0')], 2, { room: '0-0', inbox: '0-0' });
    expect(ids(entries)).toEqual(['r1-0', 'i1-5', 'r2-0']);
    // The inbox is read again from 1-5: 4-0 and 5-0 come with the next read, after the room's 3-x.
    expect(positions).toEqual({ room: '2-0', inbox: '1-5' });
  });

  it('keeps its positions when nothing came', () => {
    const { entries, positions } = mergeRead([], [], 10, { room: '7-0', inbox: '8-0' });
    expect(entries).toEqual([]);
    expect(positions).toEqual({ room: '7-0', inbox: '8-0' });
  });
});
