/**
 * The judge is real Python Celery 5.2: results Celeriac stores in Redis read back in Python as the
 * same values and exceptions, and results Python's backend stores read back here.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { RedisBackend } from '../../src/backends/redis/redis-backend.ts';
import { uuid } from '../../src/util/ids.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { metaFor } from '../backend-conformance.ts';
import { describeWith } from '../helpers/services.ts';
import { REDIS_BACKEND_URL } from './redis-test-url.ts';

const run = promisify(execFile);

/** Runs Python with the Celery app bound to our Redis db; `argv[1:]` are the task ids. */
async function python(body: string, ...ids: string[]): Promise<Record<string, unknown>> {
  const script = [
    'import json, sys',
    'from celery import Celery',
    `app = Celery(broker='memory://', backend=${JSON.stringify(REDIS_BACKEND_URL)})`,
    body,
  ].join('\n');
  const { stdout } = await run('/usr/bin/python3', ['-c', script, ...ids], { timeout: 20_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

await describeWith(['redis'], 'redis result backend against Python Celery 5.2', () => {
  const backend = new RedisBackend(REDIS_BACKEND_URL, {
    logger: silentLogger,
    resultExpiresMs: 60_000,
    oid: 'interop',
    getBrokerTransport: () => Promise.reject(new Error('unused')),
  });
  const ids: string[] = [];
  const newId = () => {
    const id = uuid();
    ids.push(id);
    return id;
  };
  afterAll(async () => {
    await Promise.all(ids.map((id) => backend.forget(id)));
    await backend.close();
  });

  it('Python reads a SUCCESS and raises the FAILURE Celeriac stored', async () => {
    const ok = newId();
    const bad = newId();
    await backend.store(metaFor(ok, 'SUCCESS', { sum: 4, items: [1, 'two'] }), {});
    await backend.store(
      metaFor(
        bad,
        'FAILURE',
        { exc_type: 'ValueError', exc_message: ['bad'], exc_module: 'builtins' },
        { traceback: 'Error: bad\n    at task.ts:1' },
      ),
      {},
    );
    const out = await python(
      `
ok, bad = app.AsyncResult(sys.argv[1]), app.AsyncResult(sys.argv[2])
out = {'status': ok.status, 'result': ok.result, 'get': ok.get(timeout=5), 'date_done': ok.date_done.isoformat()}
out['bad_status'] = bad.status
out['bad_type'] = type(bad.result).__name__
out['bad_str'] = str(bad.result)
out['bad_traceback'] = bad.traceback
try:
    bad.get(timeout=5)
except ValueError as e:
    out['raised'] = [type(e).__name__, str(e)]
print(json.dumps(out))`,
      ok,
      bad,
    );
    expect(out).toMatchObject({
      status: 'SUCCESS',
      result: { sum: 4, items: [1, 'two'] },
      get: { sum: 4, items: [1, 'two'] },
      bad_status: 'FAILURE',
      bad_type: 'ValueError',
      bad_str: 'bad',
      bad_traceback: 'Error: bad\n    at task.ts:1',
      raised: ['ValueError', 'bad'],
    });
    expect(out.date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
  });

  it('reads what Python stores, and a Python store wakes a Celeriac waiter', async () => {
    const four = newId();
    const failed = newId();
    const awaited = newId();
    const waiting = backend.waitReady(awaited, { timeoutMs: 15_000 });
    await python(
      `
app.backend.store_result(sys.argv[1], 4, 'SUCCESS')
app.backend.mark_as_failure(sys.argv[2], KeyError('gone'), traceback='Traceback: gone')
app.backend.store_result(sys.argv[3], {'from': 'python'}, 'SUCCESS')
print('{}')`,
      four,
      failed,
      awaited,
    );
    const meta = await backend.get(four);
    expect(meta).toMatchObject({
      task_id: four,
      status: 'SUCCESS',
      result: 4,
      traceback: null,
      children: [],
    });
    expect(meta.date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    expect(await backend.get(failed)).toMatchObject({
      status: 'FAILURE',
      result: { exc_type: 'KeyError', exc_message: ['gone'], exc_module: 'builtins' },
      traceback: 'Traceback: gone',
    });
    expect(await waiting).toMatchObject({ status: 'SUCCESS', result: { from: 'python' } });
    // Python's SUCCESS is sticky for us too.
    await backend.store(metaFor(four, 'FAILURE', { exc_type: 'E', exc_message: [], exc_module: 'm' }), {});
    expect(await backend.get(four)).toMatchObject({ status: 'SUCCESS', result: 4 });
  });
});
