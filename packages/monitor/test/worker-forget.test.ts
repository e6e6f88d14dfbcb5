import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Celeriac } from 'celeriac';
import { afterAll, describe, expect, it } from 'vitest';
import { Monitor } from '../src/monitor.ts';
import { createMonitorApp } from '../src/server/app.ts';

const TOKEN = 'worker-forget-token-0123456789';
const bearer = { Authorization: `Bearer ${TOKEN}` };

/**
 * Offline workers: kept in the history across restarts, hidden on request, and forgotten for good
 * (until they send events again). The memory broker is enough: events are fed as the receiver would.
 */
describe('offline workers: hide and forget', () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-monitor-forget-'));
  const url = `sqlite://${join(dir, 'history.db')}`;
  const apps: Celeriac[] = [];

  const open = async (historyUrl = url) => {
    const app = new Celeriac({ broker: 'memory://' });
    apps.push(app);
    const monitor = new Monitor(app, {
      history: { url: historyUrl },
      enableEventsIntervalMs: 0,
      inspectTimeoutMs: 100,
    });
    await monitor.start();
    return { monitor, web: createMonitorApp(monitor, { auth: { apiTokens: [TOKEN] } }) };
  };
  const event = (type: string, hostname: string, extra: Record<string, unknown> = {}) => ({
    type,
    hostname,
    timestamp: Date.now() / 1000,
    freq: 2,
    sw_ident: 'py-celery',
    ...extra,
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps offline workers across a restart, hides them on request, and forgets one for good', async () => {
    const first = await open();
    first.monitor.onEvent(event('worker-online', 'alive@host'));
    first.monitor.onEvent(event('worker-heartbeat', 'gone@host', { active: 0, processed: 7 }));
    first.monitor.onEvent(event('worker-offline', 'gone@host'));
    first.monitor.onEvent(event('worker-offline', 'kept@host'));
    await first.monitor.stop();

    // After a restart the offline workers are listed again, from the history.
    const second = await open();
    expect(second.monitor.state.getWorker('gone@host')).toMatchObject({ processed: 7, lastHeartbeat: null });
    second.monitor.onEvent(event('worker-heartbeat', 'alive@host'));
    const all = await (await second.web.request('/workers', { headers: bearer })).text();
    for (const name of ['alive@host', 'gone@host', 'kept@host'])
      expect(all).toContain(`data-hostname="${name}"`);
    expect(all).toContain('href="/workers?offline=hide"');

    const hidden = await (await second.web.request('/workers?offline=hide', { headers: bearer })).text();
    expect(hidden).toContain('data-hostname="alive@host"');
    expect(hidden).not.toContain('data-hostname="gone@host"');
    expect(hidden).toContain('Show offline workers (2 hidden)');

    const forgot = await second.web.request('/api/worker/forget/gone@host', {
      method: 'POST',
      headers: bearer,
    });
    expect(forgot.status).toBe(200);
    expect(await forgot.json()).toEqual({ message: 'Forgot gone@host' });
    expect(second.monitor.state.getWorker('gone@host')).toBeUndefined();
    expect((await second.web.request('/worker/gone%40host', { headers: bearer })).status).toBe(404);
    const again = await second.web.request('/api/worker/forget/gone@host', {
      method: 'POST',
      headers: bearer,
    });
    expect(again.status).toBe(404);
    await second.monitor.stop();

    // Forgotten stays forgotten across a restart; the others are still there.
    const third = await open();
    expect(third.monitor.state.getWorker('gone@host')).toBeUndefined();
    expect(third.monitor.state.getWorker('kept@host')).toBeDefined();
    // ... until it sends events again.
    third.monitor.onEvent(event('worker-heartbeat', 'gone@host'));
    expect(third.monitor.state.isAlive('gone@host')).toBe(true);
    await third.monitor.stop();
  });

  it('drops workers silent for longer than the history retention', async () => {
    const other = `sqlite://${join(dir, 'retention.db')}`;
    const first = await open(other);
    const eightDaysAgo = Date.now() / 1000 - 8 * 24 * 3600;
    first.monitor.onEvent(event('worker-heartbeat', 'ancient@host', { local_received: eightDaysAgo }));
    first.monitor.onEvent(event('worker-offline', 'recent@host'));
    await first.monitor.stop();
    const second = await open(other);
    expect(second.monitor.state.getWorker('recent@host')).toBeDefined();
    expect(second.monitor.state.getWorker('ancient@host')).toBeUndefined();
    await second.monitor.stop();
  });

  it('a plain form post to forget goes back to the list, which says so', async () => {
    const { monitor, web } = await open();
    monitor.onEvent(event('worker-offline', 'old@host'));
    const res = await web.request('/api/worker/forget/old%40host', {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _page: 'forget', _worker: 'old@host' }),
    });
    expect(res.status).toBe(303);
    const location = res.headers.get('location')!;
    expect(location).toMatch(/^\/workers\?control=forget&ok=Forgot\+old%40host/);
    const page = await (await web.request(location, { headers: bearer })).text();
    expect(page).toContain('Forgot old@host.');
    expect(page).not.toContain('data-hostname="old@host"');
    await monitor.stop();
  });
});
