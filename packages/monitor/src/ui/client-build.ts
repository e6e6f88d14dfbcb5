import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the package lives, and where Vite puts the browser bundle (`npm run build`). */
export const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const CLIENT_SOURCE_DIR = join(PACKAGE_DIR, 'client');
export const CLIENT_OUT_DIR = join(PACKAGE_DIR, 'dist', 'client');
export const CLIENT_MANIFEST = join(CLIENT_OUT_DIR, '.vite', 'manifest.json');
const VITE_CONFIG = join(PACKAGE_DIR, 'vite.config.ts');

/** Why the bundle needs building: `missing`, `stale` (sources newer than the build), or undefined. */
export function clientBuildNeeded(outDir = CLIENT_OUT_DIR): 'missing' | 'stale' | undefined {
  const manifest = join(outDir, '.vite', 'manifest.json');
  if (!existsSync(manifest)) return 'missing';
  if (!existsSync(CLIENT_SOURCE_DIR)) return undefined; // an installed copy without sources: use what shipped
  const built = statSync(manifest).mtimeMs;
  return newestMtime(CLIENT_SOURCE_DIR, statSync(VITE_CONFIG).mtimeMs) > built ? 'stale' : undefined;
}

function newestMtime(dir: string, newest: number): number {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = entry.isDirectory() ? newestMtime(path, newest) : Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds the bundle with Vite's JS API into a private directory, then renames it into place, so
 * two processes building at once (two monitors, or test files) never see a half-written bundle.
 */
export async function buildClient(outDir = CLIENT_OUT_DIR): Promise<void> {
  const { build } = await import('vite').catch((error: unknown) => {
    throw new Error(
      'the monitor needs its browser bundle (dist/client) and cannot build it: `vite` is not installed. Run `npm install` (or `npm run build -w @celeriac/monitor`).',
      { cause: error },
    );
  });
  const unique = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const temporary = `${outDir}.tmp-${unique}`;
  try {
    await build({
      configFile: VITE_CONFIG,
      logLevel: 'warn',
      build: { outDir: temporary, emptyOutDir: true },
    });
    const old = `${outDir}.old-${unique}`;
    try {
      renameSync(outDir, old);
    } catch {
      // nothing there yet, or another process moved it first
    }
    try {
      renameSync(temporary, outDir);
    } catch (error) {
      // Another process put its (equal) build there first: keep theirs.
      if (!existsSync(join(outDir, '.vite', 'manifest.json'))) throw error;
    }
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
}
