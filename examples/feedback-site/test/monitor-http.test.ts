import { createServer } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { MonitorAuthError } from '../src/embedded-monitor.ts';
import { startEmbedded } from '../src/embedded.ts';
import { eventually, startTestSite, type TestSite } from './helpers.ts';

interface WorkerView {
  hostname: string;
  online: boolean;
}

/** The monitor embedded in the site: mounted at /monitor, fed by the worker, behind a log-in when asked. */
describe('embedded monitor with a log-in (MONITOR_USER / MONITOR_PASSWORD)', () => {
  let t: TestSite;
  let url: string;
  beforeAll(async () => {
    t = await startTestSite({ monitorUser: 'admin', monitorPassword: 'correct horse battery' });
    url = t.site.url;
  });
  afterAll(() => t?.cleanup());

  const logIn = (password: string) =>
    fetch(`${url}/monitor/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: url },
      body: new URLSearchParams({ username: 'admin', password, next: '/monitor/workers' }),
    });

  it('sends a visitor without a session to the log-in page, and the API answers 401', async () => {
    const page = await fetch(`${url}/monitor/workers`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/monitor/login?next=%2Fmonitor%2Fworkers');
    expect((await fetch(`${url}/monitor/api/workers`)).status).toBe(401);
    expect(t.site.monitor.login).toBe(true);
  });

  it('refuses a wrong password', async () => {
    const res = await logIn('wrong');
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('logs in, and then shows the embedded worker online (heartbeats over the in-memory broker)', async () => {
    const res = await logIn('correct horse battery');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/monitor/workers');
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    const worker = await eventually(async () => {
      const api = await fetch(`${url}/monitor/api/workers`, { headers: { cookie } });
      expect(api.status).toBe(200);
      const workers = (await api.json()) as Record<string, WorkerView>;
      return workers['celery@feedback-site']?.online ? workers['celery@feedback-site'] : undefined;
    });
    expect(worker.hostname).toBe('celery@feedback-site');
  });

  it('leaves the site itself open and its pages link to the monitor', async () => {
    const home = await fetch(`${url}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('href="/monitor"');
  });
});

describe('embedded monitor without a log-in', () => {
  it('is refused on a non-loopback address before anything starts', async () => {
    const port = await freePort();
    const config = loadConfig({}, { host: '0.0.0.0', port: 0, smtpCatcherPort: port });
    await expect(startEmbedded(config, pino({ level: 'silent' }))).rejects.toThrow(MonitorAuthError);
    await expect(startEmbedded(config, pino({ level: 'silent' }))).rejects.toThrow(
      /set MONITOR_USER and MONITOR_PASSWORD/,
    );
    // Nothing was left listening: the SMTP catcher's port is free again.
    expect(await freePort(port)).toBe(port);
  });

  it('rejects half a log-in in the environment', () => {
    expect(() => loadConfig({ MONITOR_USER: 'admin' })).toThrow(/set both MONITOR_USER and MONITOR_PASSWORD/);
    expect(() => loadConfig({ MONITOR_DB: 'postgresql://x/y' })).toThrow(/MONITOR_DB/);
  });
});

/** A free port (or the given one, when it is free). */
async function freePort(port = 0): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: got } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return got;
}
