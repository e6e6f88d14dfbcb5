import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formSession, postForm, eventually, startTestSite, type TestSite } from './helpers.ts';

/** The site's defences over plain HTTP (no browser needed): CSRF, sizes, header injection, flooding. */
describe('feedback site over HTTP', () => {
  let t: TestSite;
  let url: string;
  beforeAll(async () => {
    t = await startTestSite({ rateLimit: { max: 5, windowMs: 60_000 } });
    url = t.site.url;
  });
  afterAll(() => t?.cleanup());

  const good = { name: 'Ada', email: 'ada@example.com', message: 'A perfectly fine message.' };

  it('refuses a form without the CSRF token and queues nothing', async () => {
    const session = await formSession(url, '/feedback');
    const noToken = await postForm(url, '/feedback', undefined, { ...good, email: 'csrf1@example.com' });
    expect(noToken.status).toBe(403);
    const wrongToken = await postForm(
      url,
      '/feedback',
      { cookie: session.cookie, token: 'f'.repeat(64) },
      good,
    );
    expect(wrongToken.status).toBe(403);
    expect(await wrongToken.text()).toContain('The form expired');
    const addNoToken = await postForm(url, '/add', undefined, { x: '1', y: '2' });
    expect(addNoToken.status).toBe(403);
    await new Promise((r) => setTimeout(r, 300));
    expect(t.site.catcher!.messages).toHaveLength(0);
  });

  it('refuses a body over 64 kB with 413', async () => {
    const session = await formSession(url, '/feedback');
    const res = await postForm(url, '/feedback', session, { ...good, message: 'x'.repeat(70_000) });
    expect(res.status).toBe(413);
    expect(await res.text()).toContain('too large');
  });

  it('rejects a newline in the name (header injection) on the site and in the task', async () => {
    const session = await formSession(url, '/feedback');
    const res = await postForm(url, '/feedback', session, {
      ...good,
      name: 'Eve\r\nBcc: victim@example.com',
      email: 'eve@example.com',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Your name cannot contain line breaks');
    // A message sent around the site (another producer, Python) fails in the worker, without retrying or sending.
    const sent = await t.site.producer.sendFeedbackEmail.delay(
      'Eve\nBcc: victim@example.com',
      'eve@example.com',
      'Injected message',
    );
    await expect(sent.get({ timeout: 10_000 })).rejects.toThrow(/line breaks/);
    expect((await sent.meta()).status).toBe('FAILURE');
    const injectedEmail = await t.site.producer.sendFeedbackEmail.delay(
      'Eve',
      'eve@example.com\r\nBcc: x@example.com',
      'Injected message',
    );
    await expect(injectedEmail.get({ timeout: 10_000 })).rejects.toThrow(/email/);
    expect(t.site.catcher!.messages).toHaveLength(0);
  });

  it('answers a flood with 429 and a clear message, and sends only what it accepted', async () => {
    const session = await formSession(url, '/feedback');
    const statuses: number[] = [];
    let refused = '';
    for (let i = 0; i < 8; i++) {
      const res = await postForm(url, '/feedback', session, { ...good, email: `flood${i}@example.com` });
      statuses.push(res.status);
      if (res.status === 429) {
        refused = await res.text();
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    }
    // The injection test used 1 of this client's 5 (CSRF failures and the 413 are refused before counting).
    expect(statuses).toEqual([303, 303, 303, 303, 429, 429, 429, 429]);
    expect(refused).toMatch(/Too many submissions from your address\. Please wait \d+ seconds/);
    const accepted = statuses.filter((s) => s === 303).length;
    await eventually(() => t.site.catcher!.messages.length === accepted || undefined);
    await new Promise((r) => setTimeout(r, 300));
    expect(t.site.catcher!.messages).toHaveLength(accepted);
  });
});
