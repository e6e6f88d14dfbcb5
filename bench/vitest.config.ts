import { defineConfig } from 'vitest/config';

// The bench's own unit tests (the root config covers packages/ and test/): npx vitest run --config bench/vitest.config.ts
export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**'],
  },
});
