import { defineConfig } from 'vitest/config';

/**
 * The chaos suite (`npm run test:chaos`): long scenarios that kill workers, cut brokers and fuzz
 * messages on the shared services. One file at a time, because each one loads the whole machine
 * and its figures mean nothing if another scenario competes for the same two cores.
 */
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.chaos.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 600_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
