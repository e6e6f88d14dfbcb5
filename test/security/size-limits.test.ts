/**
 * Size limits on what crosses the broker and lands in the result backend: `taskMessageMaxBytes`
 * stops an oversized call at the caller (nothing published), `resultMaxBytes` stores a clear
 * FAILURE instead of a giant result; both default to 10 MiB and `null` turns them off.
 * (A worker receiving an oversized message from another client: rejected-messages.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../packages/celeriac/src/app/config.ts';
import { MessageTooLargeError } from '../../packages/celeriac/src/index.ts';
import { TaskError } from '../../packages/celeriac/src/result/exceptions.ts';
import { memoryApp, startWorker, stopAll } from '../../packages/celeriac/test/worker/helpers.ts';

afterEach(stopAll);

const MiB = 1024 * 1024;

describe('size limits', () => {
  it('default to 10 MiB each, accept null, refuse nonsense with the option named', () => {
    const conf = resolveConfig({});
    expect(conf.taskMessageMaxBytes).toBe(10 * MiB);
    expect(conf.resultMaxBytes).toBe(10 * MiB);
    const off = resolveConfig({ taskMessageMaxBytes: null, resultMaxBytes: null });
    expect([off.taskMessageMaxBytes, off.resultMaxBytes]).toEqual([null, null]);
    expect(() => resolveConfig({ taskMessageMaxBytes: 0 })).toThrow(/taskMessageMaxBytes/);
    expect(() => resolveConfig({ resultMaxBytes: -1 })).toThrow(/resultMaxBytes/);
  });

  it('delay() over taskMessageMaxBytes rejects with MessageTooLargeError and publishes nothing', async () => {
    const app = memoryApp({ taskMessageMaxBytes: 4096 });
    const echo = app.task('limits.echo', (s: string) => s);
    const error = await echo.delay('x'.repeat(5000)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect(error).toMatchObject({ code: 'MESSAGE_TOO_LARGE', taskName: 'limits.echo', limitBytes: 4096 });
    expect((error as Error).message).toMatch(
      /^task message limits\.echo\[[0-9a-f-]{36}\] is \d\.\d KiB, over taskMessageMaxBytes \(4 KiB\): pass a reference/,
    );
    const transport = await app.connection();
    expect(await transport.queueLength('celery')).toBe(0);
    // Just under the limit goes through, and so does anything with the limit off.
    await echo.delay('x'.repeat(3000));
    expect(await transport.queueLength('celery')).toBe(1);
    await app.close();
    const unlimited = memoryApp({ taskMessageMaxBytes: null });
    const big = unlimited.task('limits.big', (s: string) => s.length);
    await big.delay('x'.repeat(11 * MiB));
    expect(await (await unlimited.connection()).queueLength('celery')).toBe(1);
    await unlimited.close();
  });

  it('a result over resultMaxBytes is stored as FAILURE ResultTooLargeError; the worker goes on', async () => {
    const app = memoryApp({ resultMaxBytes: 10_000 });
    const make = app.task('limits.make', (n: number) => ({ data: 'é'.repeat(n) }));
    await startWorker(app, { concurrency: 2 });
    // 'é' is 2 bytes of UTF-8: 6,000 of them are ~12 KB as JSON, over 10,000 bytes though under 10,000 chars.
    const big = await make.delay(6_000);
    const small = await make.delay(10);
    const error = await big.get({ timeout: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskError);
    expect(error).toMatchObject({ excType: 'ResultTooLargeError' });
    expect((error as Error).message).toMatch(
      /the result of task [0-9a-f-]{36} is 11\.7 KiB as JSON, over resultMaxBytes \(9\.8 KiB\): store large outputs elsewhere/,
    );
    expect(await big.state).toBe('FAILURE');
    expect(await small.get({ timeout: 5_000 })).toEqual({ data: 'é'.repeat(10) });
  });
});
