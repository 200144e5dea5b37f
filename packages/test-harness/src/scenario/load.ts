import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { Scenario } from './types.js';
import { ScenarioError, validateScenario } from './validate.js';

const EXTENSIONS = ['.yaml', '.yml', '.json'];

/** The scenario library shipped with the package (packages/test-harness/scenarios). */
export const SCENARIO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scenarios');

/** Parses and validates scenario text; `source` decides JSON or YAML by its extension. */
export function parseScenario(text: string, source: string): Scenario {
  let raw: unknown;
  try {
    raw = extname(source) === '.json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ScenarioError(source, [`cannot be read: ${(err as Error).message}`]);
  }
  return validateScenario(raw, source);
}

export function loadScenarioFile(path: string): Scenario {
  return parseScenario(readFileSync(path, 'utf8'), path);
}

/** Every scenario file in a folder, sorted by name. */
export function listScenarioFiles(dir = SCENARIO_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => EXTENSIONS.includes(extname(f)))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Finds the files for what a user typed: a path to a file or folder, or the
 * name of a scenario in the library (`broadcast` → scenarios/broadcast.yaml).
 * No names: the whole library.
 */
export function resolveScenarioPaths(names: readonly string[], dir = SCENARIO_DIR): string[] {
  if (names.length === 0) return listScenarioFiles(dir);
  const out: string[] = [];
  for (const n of names) {
    const asPath = resolve(n);
    if (existsSync(asPath) && statSync(asPath).isDirectory()) {
      out.push(...listScenarioFiles(asPath));
      continue;
    }
    if (existsSync(asPath)) {
      out.push(asPath);
      continue;
    }
    const found = EXTENSIONS.map((e) => join(dir, `${n}${e}`)).find((p) => existsSync(p));
    if (!found) {
      const known = listScenarioFiles(dir).map((p) => basename(p, extname(p)));
      throw new Error(`no scenario "${n}": not a file, and not in ${dir} (there: ${known.join(', ')})`);
    }
    out.push(found);
  }
  return out;
}
