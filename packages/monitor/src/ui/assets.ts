import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { buildClient, CLIENT_MANIFEST, CLIENT_OUT_DIR, clientBuildNeeded } from './client-build.ts';

/** The Vite bundle: the tags the pages link and the files `/static/` serves (all in memory, ~100 kB). */
export interface ClientAssets {
  scripts: string[];
  styles: string[];
  files: Map<string, { body: Uint8Array; type: string }>;
}

interface ManifestEntry {
  file: string;
  isEntry?: boolean;
  css?: string[];
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

let loaded: ClientAssets | undefined;
let loading: Promise<ClientAssets> | undefined;

/** The bundle, read once; built first (one log line) when `dist/client` is missing or older than `client/`. */
export function clientAssets(log: (message: string) => void = () => undefined): Promise<ClientAssets> {
  loading ??= (async () => {
    const why = clientBuildNeeded();
    if (why) {
      const started = Date.now();
      await buildClient();
      log(`monitor: built the browser bundle (${why}) into ${CLIENT_OUT_DIR} in ${Date.now() - started} ms`);
    }
    // Another process may be swapping in its own build this very moment: look again shortly.
    for (let attempt = 1; ; attempt++) {
      try {
        loaded = readAssets();
        return loaded;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  })();
  // A failed build is retried by the next request rather than remembered forever.
  loading.catch(() => (loading = undefined));
  return loading;
}

function readAssets(): ClientAssets {
  const manifest = JSON.parse(readFileSync(CLIENT_MANIFEST, 'utf8')) as Record<string, ManifestEntry>;
  const entry = manifest['main.ts'] ?? Object.values(manifest).find((e) => e.isEntry);
  if (!entry)
    throw new Error(`${CLIENT_MANIFEST} has no entry; rebuild with npm run build -w @celeriac/monitor`);
  const files = new Map<string, { body: Uint8Array; type: string }>();
  const assetsDir = join(CLIENT_OUT_DIR, 'assets');
  // Only the files Vite wrote are served, by exact name: no path from a request reaches the disk.
  for (const name of readdirSync(assetsDir)) {
    const type = TYPES[extname(name)];
    if (type) files.set(`assets/${name}`, { body: readFileSync(join(assetsDir, name)), type });
  }
  return { scripts: [entry.file], styles: entry.css ?? [], files };
}

/** The `<link>` and `<script>` tags for the page head (empty until `clientAssets()` has loaded). */
export function assetTags(base: string): HtmlEscapedString | Promise<HtmlEscapedString> {
  const assets = loaded;
  if (!assets) return html``;
  return html`${assets.styles.map((file) => html`<link rel="stylesheet" href="${base}/static/${file}" />`)}
  ${assets.scripts.map((file) => html`<script type="module" src="${base}/static/${file}"></script>`)}`;
}

/** Only the stylesheets, for pages that run no script (log-in). */
export function styleTags(base: string): HtmlEscapedString | Promise<HtmlEscapedString> {
  return html`${(loaded?.styles ?? []).map((file) => html`<link rel="stylesheet" href="${base}/static/${file}" />`)}`;
}
