import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'test/**/*.test.ts',
      'bench/**/*.test.ts',
    ],
    // The monitor's Vite bundle, built once per run if missing or stale (browser and page tests link it).
    globalSetup: ['packages/monitor/test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests share one RabbitMQ/Redis/PostgreSQL; two files at a time keeps a 2-core box responsive.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
