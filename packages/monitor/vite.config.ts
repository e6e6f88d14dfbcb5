import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The monitor's browser code: one entry (`client/main.ts`) that bundles every page module, built
 * into `dist/client/` with hashed names and a manifest the server reads to link them. No HTML
 * entry: the pages are rendered by the server, so nothing inline is emitted (the CSP forbids it).
 */
export default defineConfig({
  root: here('./client'),
  // Relative URLs inside the CSS, so the monitor works under any mount path.
  base: './',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: here('./dist/client'),
    emptyOutDir: true,
    manifest: true,
    target: 'es2022',
    sourcemap: true,
    modulePreload: false,
    rolldownOptions: { input: here('./client/main.ts') },
  },
});
