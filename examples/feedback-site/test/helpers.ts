import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { loadConfig, type SiteConfig } from '../src/config.ts';
import { startEmbedded, type EmbeddedSite } from '../src/embedded.ts';

export const CHROMIUM = '/usr/bin/chromium';

/** Chromium present? In CI a missing browser fails loudly; on a laptop the browser tests skip. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true' || process.env.CI === '1') {
    throw new Error(
      `${CHROMIUM} is missing: the browser tests need Debian's chromium (apt-get install chromium)`,
    );
  }
  console.warn(`skipping browser tests: ${CHROMIUM} not found (apt-get install chromium)`);
  return false;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestSite {
  site: EmbeddedSite;
  /** Stops the site and deletes its files. */
  cleanup(): Promise<void>;
}

/**
 * An embedded site on free ports, with its own in-memory broker, SQLite files (results, schedule,
 * monitor history) and SMTP catcher; retries every ≤1 s so an SMTP outage test stays short.
 */
export async function startTestSite(overrides: Partial<SiteConfig> = {}): Promise<TestSite> {
  const dir = mkdtempSync(join(tmpdir(), 'feedback-site-'));
  const config = loadConfig(
    {},
    {
      brokerUrl: `memory://feedback-${randomUUID()}`,
      resultBackend: `sqlite://${join(dir, 'results.db')}`,
      beatScheduleFile: join(dir, 'beat.json'),
      monitorDb: `sqlite://${join(dir, 'monitor.db')}`,
      port: 0,
      smtpCatcherPort: 0,
      smtpRetryBackoff: 1,
      smtpRetryBackoffMax: 1,
      beatAddEvery: '1s',
      ...overrides,
    },
  );
  const site = await startEmbedded(config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  return {
    site,
    async cleanup() {
      await site.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A form session from Node: the CSRF cookie and token a browser would hold. */
export async function formSession(baseUrl: string, path: string): Promise<{ cookie: string; token: string }> {
  const res = await fetch(baseUrl + path);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const token = /name="csrfmiddlewaretoken" value="([0-9a-f]+)"/.exec(await res.text())?.[1];
  if (!cookie || !token) throw new Error(`no CSRF cookie/token on ${path}`);
  return { cookie, token };
}

export async function postForm(
  baseUrl: string,
  path: string,
  session: { cookie: string; token: string } | undefined,
  fields: Record<string, string>,
): Promise<Response> {
  const body = new URLSearchParams(session ? { csrfmiddlewaretoken: session.token, ...fields } : fields);
  return fetch(baseUrl + path, {
    method: 'POST',
    body,
    redirect: 'manual',
    headers: session ? { cookie: session.cookie } : {},
  });
}

export async function eventually<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
