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
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests share one RabbitMQ/Redis/PostgreSQL; two files at a time keeps a 2-core box responsive.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
