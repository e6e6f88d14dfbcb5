import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Celeriac } from 'celeriac';
import { afterAll, describe, expect, it } from 'vitest';
import { Monitor } from '../src/monitor.ts';
import { createMonitorApp } from '../src/server/app.ts';
import { buildClient, clientBuildNeeded } from '../src/ui/client-build.ts';

describe('browser bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-monitor-build-'));
  const app = new Celeriac({ broker: 'memory://' });
  const monitor = new Monitor(app, { history: false, enableEventsIntervalMs: 0 });
  const web = createMonitorApp(monitor, { auth: { insecureNoAuth: true } });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await monitor.stop();
    await app.close();
  });

  it('is built with Vite into place, even by two builds at once', async () => {
    const out = join(dir, 'client');
    expect(clientBuildNeeded(out)).toBe('missing');
    await Promise.all([buildClient(out), buildClient(out)]);
    expect(clientBuildNeeded(out)).toBeUndefined();
    const manifest = JSON.parse(readFileSync(join(out, '.vite', 'manifest.json'), 'utf8')) as Record<
      string,
      { file: string; css?: string[]; isEntry?: boolean }
    >;
    const entry = manifest['main.ts']!;
    expect(entry.isEntry).toBe(true);
    expect(entry.file).toMatch(/^assets\/main-[\w-]+\.js$/);
    expect(entry.css?.[0]).toMatch(/^assets\/main-[\w-]+\.css$/);
    for (const file of [entry.file, ...(entry.css ?? [])]) expect(existsSync(join(out, file))).toBe(true);
    // Nothing half-written or left over beside it.
    expect(readdirSync(dir)).toEqual(['client']);
    // The bundle holds every page module and writes text, never markup.
    const js = readFileSync(join(out, entry.file), 'utf8');
    for (const mark of ['task-timeline', 'worker-load', 'runtime-chart', 'api-done'])
      expect(js).toContain(mark);
    expect(js).not.toContain('innerHTML');
  }, 60_000);

  it('serves the bundle from /static with long cache headers and nothing else from the disk', async () => {
    const page = await (await web.request('/')).text();
    const css = /<link rel="stylesheet" href="(\/static\/assets\/[^"]+\.css)"/.exec(page)?.[1];
    const js = /<script type="module" src="(\/static\/assets\/[^"]+\.js)"/.exec(page)?.[1];
    expect(css && js).toBeTruthy();
    const style = await web.request(css!);
    expect(style.headers.get('content-type')).toMatch(/^text\/css/);
    expect(style.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await style.text()).length).toBeGreaterThan(1000);
    // The page itself is never cached.
    expect((await web.request('/')).headers.get('cache-control')).toBe('no-store');
    for (const path of [
      '/static/assets/nope.js',
      '/static/../package.json',
      '/static/assets/..%2f..%2fvite.config.ts',
    ])
      expect((await web.request(path)).status, path).toBe(404);
  });
});
