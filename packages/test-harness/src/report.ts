import { relative } from 'node:path';
import type { ScenarioResult, StepResult } from './scenario/runner.js';
import type { Scenario } from './scenario/types.js';

export interface Painter {
  readonly green: (s: string) => string;
  readonly red: (s: string) => string;
  readonly dim: (s: string) => string;
  readonly bold: (s: string) => string;
}

export function painter(color: boolean): Painter {
  const wrap = (open: number, close: number) => (s: string) => (color ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { green: wrap(32, 39), red: wrap(31, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

const MARK = { pass: '✓', fail: '✗', skip: '-' } as const;

export function scenarioHeader(s: Scenario, p: Painter): string {
  return `${p.bold(s.name)} ${p.dim(`(${relative(process.cwd(), s.source) || s.source})`)}`;
}

export function formatStep(r: StepResult, p: Painter): string {
  const mark = r.status === 'pass' ? p.green(MARK.pass) : r.status === 'fail' ? p.red(MARK.fail) : p.dim(MARK.skip);
  const ms = r.status === 'skip' ? p.dim('not run') : p.dim(`${r.ms.toFixed(0)} ms`);
  let out = `  ${mark} ${String(r.index).padStart(2)}. ${r.title}  ${ms}`;
  for (const d of r.details ?? []) out += `\n        ${p.dim(d)}`;
  if (r.error) out += `\n        ${p.red(r.error.replace(/\n/gu, '\n        '))}`;
  for (const rec of r.received ?? []) {
    if (rec.lines.length === 0) continue;
    out += `\n        ${rec.nick} had received:`;
    for (const l of rec.lines) out += `\n          | ${l.length > 160 ? `${l.slice(0, 160)}…` : l}`;
  }
  return out;
}

export function formatResult(r: ScenarioResult, p: Painter): string {
  const word = r.status === 'pass' ? p.green('PASS') : r.status === 'fail' ? p.red('FAIL') : p.dim('SKIP');
  let out = `${word} ${r.name} ${p.dim(`(${(r.ms / 1000).toFixed(2)} s)`)}`;
  if (r.reason) out += `\n  ${r.status === 'fail' ? p.red(r.reason) : p.dim(r.reason)}`;
  if (r.status === 'fail' && r.serverOutput !== undefined) {
    const tail = r.serverOutput.trimEnd().split('\n').slice(-30).join('\n    ');
    out += `\n  server output (last 30 lines):\n    ${tail || '(nothing)'}`;
  }
  return out;
}

export function summary(results: readonly ScenarioResult[]): string {
  const n = (s: string): number => results.filter((r) => r.status === s).length;
  return `scenarios: ${n('pass')} passed, ${n('fail')} failed, ${n('skip')} skipped`;
}
