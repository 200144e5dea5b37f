import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: process.env.PARLEY_TEST_REPORT ? ['default', 'json'] : ['default'],
    outputFile: process.env.PARLEY_TEST_REPORT ? { json: process.env.PARLEY_TEST_REPORT } : undefined,
  },
});
