import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatResult, formatStep, painter } from '../src/report.js';
import { listScenarioFiles, loadScenarioFile } from '../src/scenario/load.js';
import { runScenario } from '../src/scenario/runner.js';

// Every scenario in the library, each against its own freshly spawned, built
// parley-server on ephemeral ports (turbo builds @parley/server first).
const plain = painter(false);

describe('the scenario library against the real server', () => {
  for (const file of listScenarioFiles()) {
    const scenario = loadScenarioFile(file);
    it(`${basename(file)}: ${scenario.name}`, { timeout: 120_000 }, async (ctx) => {
      const report: string[] = [];
      const result = await runScenario(scenario, { onStep: (_, step) => report.push(formatStep(step, plain)) });
      if (result.status === 'skip') ctx.skip(result.reason);
      expect(result.status, `${report.join('\n')}\n${formatResult(result, plain)}`).toBe('pass');
    });
  }
});
