import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The celeriac package version, read once from its package.json (no build step to inline it). */
export function celeriacVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        version?: string;
      };
      cached = pkg.version ?? '0.0.0';
    } catch {
      cached = '0.0.0';
    }
  }
  return cached;
}
