import { basename, join } from 'node:path';
import { defineConfig } from 'vitest/config';

// scripts/test.mjs sets PARLEY_TEST_REPORT_DIR to count results across packages.
const reportDir = process.env.PARLEY_TEST_REPORT_DIR;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: reportDir ? ['default', 'json'] : ['default'],
    outputFile: reportDir ? { json: join(reportDir, `${basename(process.cwd())}.json`) } : undefined,
  },
});
