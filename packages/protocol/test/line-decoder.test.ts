import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LineDecoder, LineDecoderState, ParleyProtocolError, type DecodedLine } from '../src/index.js';

function feed(decoder: LineDecoder, chunks: Uint8Array[]): DecodedLine[] {
  return chunks.flatMap((c) => decoder.push(c));
}

function summary(results: DecodedLine[]): string[] {
  return results.map((r) => (r.ok ? `line:${r.line}` : `error:${r.error.wireCode}`));
}

function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

describe('LineDecoder', () => {
  const input = Buffer.from('alice\r\nbroadcast,héllo 👋\nbob,日本語\n\nonline\n', 'utf8');
  const expected = ['line:alice', 'line:broadcast,héllo 👋', 'line:bob,日本語', 'line:', 'line:online'];

  it('yields the same lines whole, split at every offset, and one byte at a time', () => {
    expect(summary(new LineDecoder().push(input))).toEqual(expected);
    for (let i = 0; i <= input.length; i++) {
      expect(summary(feed(new LineDecoder(), [input.subarray(0, i), input.subarray(i)]))).toEqual(expected);
    }
    const bytes = [...input].map((b) => Uint8Array.of(b));
    expect(summary(feed(new LineDecoder(), bytes))).toEqual(expected);
  });

  it('keeps a multi-byte character split across chunks intact', () => {
    const smile = Buffer.from('😀\n', 'utf8');
    const d = new LineDecoder();
    expect(d.push(smile.subarray(0, 2))).toEqual([]);
    expect(summary(d.push(smile.subarray(2)))).toEqual(['line:😀']);
  });

  it('reports an over-long line once, drops the rest of it, and goes on with the next line', () => {
    const d = new LineDecoder({ maxLineBytes: 8 });
    const out = feed(d, [Buffer.from('012345'), Buffer.from('6789abcdef'), Buffer.from('ghij\nok\n')]);
    expect(summary(out)).toEqual(['error:LINE_TOO_LONG', 'line:ok']);
    const first = out[0];
    expect(first?.ok).toBe(false);
    if (first && !first.ok) {
      expect(first.error).toBeInstanceOf(ParleyProtocolError);
      expect(first.error.code).toBe('PARLEY_ERR_LINE_TOO_LONG');
      expect(first.error.message).toBe('line is longer than 8 bytes; it was dropped');
    }
    expect(d.state).toBe(LineDecoderState.Collecting);
  });

  it('accepts a line of exactly the limit, with or without CR', () => {
    const d = new LineDecoder({ maxLineBytes: 4 });
    expect(summary(feed(d, [Buffer.from('abcd\r'), Buffer.from('\nabcd\nabcde\n')]))).toEqual(['line:abcd', 'line:abcd', 'error:LINE_TOO_LONG']);
  });

  it('rejects invalid UTF-8 for that line only', () => {
    const d = new LineDecoder();
    const bad = Buffer.concat([Buffer.from('a'), Buffer.from([0xc3, 0x28]), Buffer.from('\nfine\n')]);
    expect(summary(d.push(bad))).toEqual(['error:INVALID_UTF8', 'line:fine']);
    expect(summary(d.push(Buffer.from([0xed, 0xa0, 0x80, 0x0a])))).toEqual(['error:INVALID_UTF8']);
  });

  it('does not depend on the caller keeping its chunk buffer', () => {
    const d = new LineDecoder();
    const chunk = Buffer.from('hello');
    d.push(chunk);
    chunk.fill(0x21);
    expect(summary(d.push(Buffer.from(' world\n')))).toEqual(['line:hello world']);
  });

  it('holds one buffer of at most the line limit for an unfinished line, however it is split', () => {
    const max = 4096;
    const line = Buffer.alloc(4000, 0x61);
    for (const size of [1, 3, 64, 1000, 4000]) {
      const d = new LineDecoder({ maxLineBytes: max });
      let most = 0;
      for (let i = 0; i < line.length; i += size) {
        d.push(line.subarray(i, i + size));
        most = Math.max(most, d.retainedBytes);
      }
      expect(d.pendingBytes).toBe(4000);
      // One buffer grown by doubling: at most max + 1 (a CR may wait for its LF), never one per chunk.
      expect(most).toBeLessThanOrEqual(max + 1);
      expect(most).toBeGreaterThanOrEqual(4000);
      expect(summary(d.push(Buffer.from('\n')))).toEqual([`line:${'a'.repeat(4000)}`]);
      expect(d.retainedBytes).toBe(0);
    }
  });

  it('holds nothing after an over-long line, and nothing for lines that arrive whole', () => {
    const d = new LineDecoder({ maxLineBytes: 100 });
    for (let i = 0; i < 500; i++) d.push(Uint8Array.of(0x62));
    expect(d.state).toBe(LineDecoderState.Discarding);
    expect(d.retainedBytes).toBe(0);
    d.push(Buffer.from('\nhello\nworld\n'));
    expect(d.retainedBytes).toBe(0);
  });

  it('gives identical results for any split of random input (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 1, max: 40 }), (bytes, cuts, max) => {
        const buf = Buffer.from(bytes);
        const whole = summary(new LineDecoder({ maxLineBytes: max }).push(buf));
        const split = new LineDecoder({ maxLineBytes: max });
        const parts = summary(
          splitAt(buf, cuts).flatMap((c) => {
            const out = split.push(c);
            expect(split.retainedBytes).toBeLessThanOrEqual(max + 1);
            return out;
          }),
        );
        expect(parts).toEqual(whole);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips random text lines', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !/[\r\n]/u.test(s))), (lines) => {
        const buf = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
        const out = new LineDecoder({ maxLineBytes: 1000 }).push(buf);
        expect(out).toEqual(lines.map((line) => ({ ok: true, line })));
      }),
    );
  });
});
