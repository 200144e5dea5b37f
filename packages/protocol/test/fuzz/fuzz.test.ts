/**
 * The fuzz targets under a short budget (2·10⁴ inputs each, a fixed seed) as
 * part of `npm test`; `npm run fuzz` runs this file with the full budget
 * (PARLEY_FUZZ_RUNS, a fresh seed) and prints one line per target.
 *
 * Environment: PARLEY_FUZZ_RUNS (inputs per target), PARLEY_FUZZ_SEED,
 * PARLEY_FUZZ_TARGETS (comma-separated names), PARLEY_FUZZ_FROM (first input
 * index), PARLEY_FUZZ_REPORT (a file to append one JSON result per target to).
 */
import { appendFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LineDecoder, PACKET_TYPES } from '../../src/index.js';
import { describeFailures, runTarget, summaryLine } from './engine.js';
import { PACKET_GENERATORS } from './seeds.js';
import { TARGETS } from './targets.js';

const DEFAULT_SEED = 20261206;
const runs = Number(process.env.PARLEY_FUZZ_RUNS ?? 20_000);
const seed = Number(process.env.PARLEY_FUZZ_SEED ?? DEFAULT_SEED) >>> 0;
const from = Number(process.env.PARLEY_FUZZ_FROM ?? 0);
const only = process.env.PARLEY_FUZZ_TARGETS?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const report = process.env.PARLEY_FUZZ_REPORT;
const selected = TARGETS.filter((t) => !only || only.includes(t.name));
// Generous: the full budget takes minutes per target on a loaded machine. No timing is asserted.
const timeout = Math.max(60_000, runs * 2);

describe('fuzzing the protocol decoders', () => {
  it('has a valid-packet generator for every UDP packet type', () => {
    expect(Object.keys(PACKET_GENERATORS).sort()).toEqual(Object.keys(PACKET_TYPES).sort());
  });

  it('selects the targets it was asked for (a misspelt name is an error, not an empty run)', () => {
    expect(selected.map((t) => t.name).sort()).toEqual([...(only ?? TARGETS.map((t) => t.name))].sort());
  });

  it.each(selected.map((t) => [t.name, t] as const))(
    `%s: ${runs} inputs, no crash, every property holds`,
    (_name, target) => {
      const result = runTarget(target, { seed, runs, from });
      if (report) appendFileSync(report, `${JSON.stringify({ ...result, about: target.about })}\n`);
      // In `npm test`, stay quiet unless a known finding showed up (it is not a failure; see regressions.test.ts).
      else if (Object.keys(result.findings).length > 0) console.log(summaryLine(result));
      if (result.crashes > 0) expect.fail(`${result.crashes} of ${result.inputs} inputs failed\n${describeFailures(result)}`);
      expect(result.inputs).toBe(runs);
    },
    timeout,
  );

  // A measurement for the full run's report, not an assertion: what a decoder
  // really retains (heap + array buffers) for an unfinished line sent one byte
  // per read, against what its documented accessor (pendingBytes) says it holds.
  it.runIf(report !== undefined && (!only || only.includes('line-decoder-stream')))(
    'measures what a decoder retains for a line sent one byte per read',
    () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      const decoders = 50;
      const lineBytes = 4000;
      const retained = (): number => {
        gc?.();
        gc?.();
        const m = process.memoryUsage();
        return m.heapUsed + m.arrayBuffers;
      };
      const before = retained();
      const kept: LineDecoder[] = [];
      for (let i = 0; i < decoders; i++) {
        const decoder = new LineDecoder();
        for (let j = 0; j < lineBytes; j++) decoder.push(Buffer.of(0x61));
        kept.push(decoder);
      }
      const perDecoder = (retained() - before) / decoders;
      const pending = kept[0]?.pendingBytes ?? 0;
      appendFileSync(
        report ?? '',
        `${JSON.stringify({ measure: 'line-decoder-retention', decoders, lineBytes, pendingBytes: pending, retainedBytesPerDecoder: Math.round(perDecoder), gc: gc !== undefined })}\n`,
      );
      expect(pending).toBe(lineBytes);
    },
    120_000,
  );
});
