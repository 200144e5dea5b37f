import { basename, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The one vitest configuration: a project per package. `npx vitest run` here
 * runs every package (or `--project <name>` one); in a package folder (vitest
 * finds this file upward) that package only. scripts/test.mjs runs the packages one
 * at a time through turbo and sets PARLEY_TEST_REPORT_DIR to count results.
 */
const reportDir = process.env.PARLEY_TEST_REPORT_DIR;
const packages = ['protocol', 'udp-transfer', 'server', 'tui-client', 'test-support', 'test-harness'];
const packagesDir = fileURLToPath(new URL('./packages', import.meta.url));
/** Run from inside packages/<name>: that package only, as `npx vitest run [file]` in a package folder always did. */
const here = relative(packagesDir, process.cwd()).split(sep)[0];
const selected = packages.includes(here ?? '') ? [here as string] : packages;

export default defineConfig({
  test: {
    projects: selected.map((name) => ({
      test: {
        name,
        root: join(packagesDir, name),
        include: ['test/**/*.test.ts'],
        testTimeout: 30_000,
        hookTimeout: 30_000,
        // The end-to-end TUI tests run the bundled client: the global setup bundles it from the current source.
        ...(name === 'tui-client' ? { globalSetup: ['test/global-setup.ts'] } : {}),
      },
    })),
    reporters: reportDir ? ['default', 'json'] : ['default'],
    outputFile: reportDir ? { json: join(reportDir, `${basename(process.cwd())}.json`) } : undefined,
  },
});
