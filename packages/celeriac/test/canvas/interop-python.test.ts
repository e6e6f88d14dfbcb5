/**
 * One workflow, two languages (§8): a chain Python -> Celeriac -> Python, and chords whose header
 * runs on a real Python Celery 5.2 worker while Celeriac runs the body (and the reverse, with a
 * mixed header), all through the shared RabbitMQ and the Redis chord counters of §4.2.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Celeriac, chain, chord, group, Signature, Worker, xstarmap } from '../../src/index.ts';
import { chordKey } from '../../src/backends/redis/redis-chord.ts';
import { deleteQueues, deleteResults } from '../../../../test/interop/cleanup.ts';
import {
  AMQP_URL,
  describeInterop,
  PythonClient,
  PythonWorker,
  quietly,
  REDIS_URL,
  uniqueName,
} from '../../../../test/interop/harness.ts';

const REDIS_DB = 12;
const backend = `${REDIS_URL}/${REDIS_DB}`;

await describeInterop('canvas across Python Celery and Celeriac', () => {
  const pyQueue = uniqueName('canvas-py');
  const tsQueue = uniqueName('canvas-ts');
  const ids: string[] = [];
  let python: PythonWorker | undefined;
  let pyClient: PythonClient | undefined;
  let worker: Worker | undefined;
  let app: Celeriac;
  let tsMul: ReturnType<typeof register>['tsMul'];
  let tsCollect: ReturnType<typeof register>['tsCollect'];
  let tsSpawn: ReturnType<typeof register>['tsSpawn'];

  function register(target: Celeriac) {
    return {
      tsMul: target.task('canvas.ts_mul', (x: number, y: number) => x * y),
      tsCollect: target.task('canvas.ts_collect', (values: number[]) => ({ values, by: 'celeriac' })),
      // Sends a Python task and a group from its body: both are its children (Celery's add_trail).
      tsSpawn: target.task('canvas.ts_spawn', async () => {
        const echo = await py('tasks.echo_request', 'from-celeriac').applyAsync();
        const fan = await group(py('tasks.add', 1, 2), py('tasks.add', 3, 4)).applyAsync();
        return { echo: echo.id, group: fan.id, members: fan.results.map((r) => r.id) };
      }),
    };
  }

  /** A Python task by name, sent to the Python worker's queue. */
  const py = (name: string, ...args: unknown[]) =>
    new Signature(name, args, {}, { queue: pyQueue }, false, null, app);

  beforeAll(async () => {
    app = new Celeriac({ broker: AMQP_URL, backend, defaultQueue: tsQueue });
    ({ tsMul, tsCollect, tsSpawn } = register(app));
    worker = new Worker(app, { queues: [tsQueue], concurrency: 4, hostname: `${tsQueue}@canvas` });
    [python, pyClient] = await Promise.all([
      PythonWorker.start({ name: pyQueue, queue: pyQueue, backend }),
      PythonClient.start({ queue: pyQueue, backend }),
      worker.start(),
    ]);
  });

  afterAll(async () => {
    await quietly(() => pyClient?.close());
    await quietly(() => python?.stop());
    await quietly(() => worker?.stop());
    await quietly(() => app?.close());
    await quietly(() => deleteQueues([pyQueue, tsQueue]));
    await quietly(() => deleteResults(REDIS_DB, ids));
  });

  it('runs a chain Python -> Celeriac -> Python', async () => {
    const steps = [py('tasks.add', 2, 3), tsMul.s(10).set({ queue: tsQueue }), py('tasks.add', 7)];
    const result = await chain(...steps).applyAsync();
    expect(await result.get({ timeout: 20_000 })).toBe(57);
    const last = await result.meta();
    // The last step ran in Python, its parent (the Celeriac step) is recorded.
    expect(last.parent_id).toEqual(expect.any(String));
    ids.push(result.id, last.parent_id!);
  });

  it('runs a chord whose header runs in Python and whose body runs in Celeriac', async () => {
    const header = [py('tasks.add', 1, 1), py('tasks.add', 2, 2), py('tasks.add', 3, 3)];
    const result = await chord(header, tsCollect.s().set({ queue: tsQueue })).applyAsync();
    expect(await result.get({ timeout: 20_000 })).toEqual({ values: [2, 4, 6], by: 'celeriac' });
    // The Python worker that finished last sent the body and deleted the counters.
    expect(python!.log()).toContain(result.parent.results[0]!.id);
    const redis = await redisClient();
    expect(await redis.exists(chordKey(result.parent.id, '.j'), chordKey(result.parent.id, '.s'))).toBe(0);
    redis.disconnect();
    ids.push(result.id, ...result.parent.results.map((r) => r.id));
  });

  it('runs a chord with a mixed header (Python and Celeriac parts) and a Python body', async () => {
    const header = [py('tasks.add', 10, 1), tsMul.s(3, 4).set({ queue: tsQueue }), py('tasks.add', 20, 2)];
    // Python's tasks.add with the list as x and [] as y: list + list concatenates, so the body echoes the results.
    const result = await chord(header, py('tasks.add', [])).applyAsync();
    expect(await result.get({ timeout: 20_000 })).toEqual([11, 12, 22]);
    ids.push(result.id, ...result.parent.results.map((r) => r.id));
  });

  it('has a Python worker run a celery.starmap a Celeriac client sent', async () => {
    const result = await xstarmap(py('tasks.add'), [
      [1, 2],
      [3, 4],
    ])
      .set({ queue: pyQueue })
      .applyAsync();
    expect(await result.get({ timeout: 20_000 })).toEqual([3, 7]);
    ids.push(result.id);
  });

  it('runs a chord a Python client sent: Celeriac header tasks count it, the Python body gets the results', async () => {
    const code = [
      `ts = ${JSON.stringify(tsQueue)}`,
      "header = [app.signature('canvas.ts_mul', args=(i, 10), queue=ts) for i in range(4)]",
      // The worker finishing the header sends the body with ITS routing: name the queue, as in Celery.
      `r = celery.chord(header)(add.s([]).set(queue=${JSON.stringify(pyQueue)}))`,
      'result = {"id": r.id, "value": r.get(timeout=15)}',
    ].join('\n');
    const answer = await pyClient!.run<{ id: string; value: number[] }>(code, 25_000);
    expect(answer.value).toEqual([0, 10, 20, 30]);
    ids.push(answer.id);
  });

  it('fails a Celeriac body with ChordError when a Python header task raises', async () => {
    const header = [py('tasks.add', 1, 1), py('tasks.fail')];
    const result = await chord(header, tsCollect.s().set({ queue: tsQueue })).applyAsync();
    await expect(result.get({ timeout: 20_000 })).rejects.toMatchObject({
      excType: 'ChordError',
      excMessage: [expect.stringMatching(/^Dependency [0-9a-f-]+ raised ValueError\('bad'\)$/)],
    });
    ids.push(result.id, ...result.parent.results.map((r) => r.id));
  });

  it('lets Python read the children of a Celeriac task that sent tasks from its body, and their lineage', async () => {
    const spawned = await tsSpawn.applyAsync([], {}, { queue: tsQueue });
    const out = (await spawned.get({ timeout: 20_000 })) as {
      echo: string;
      group: string;
      members: string[];
    };
    ids.push(spawned.id, out.echo, ...out.members);
    const code = [
      'from celery.result import AsyncResult, GroupResult',
      `r = AsyncResult(${JSON.stringify(spawned.id)}, app=app)`,
      'kids = r.children',
      'echo = kids[0].get(timeout=15)',
      'result = {',
      '  "kinds": [type(k).__name__ for k in kids],',
      '  "ids": [k.id for k in kids],',
      '  "members": [c.id for c in kids[1].results] if isinstance(kids[1], GroupResult) else None,',
      '  "sums": kids[1].get(timeout=15),',
      '  "echo_parent": echo["parent_id"], "echo_root": echo["root_id"],',
      '}',
    ].join('\n');
    const seen = await pyClient!.run<{
      kinds: string[];
      ids: string[];
      members: string[] | null;
      sums: number[];
      echo_parent: string;
      echo_root: string;
    }>(code, 25_000);
    expect(seen.kinds).toEqual(['AsyncResult', 'GroupResult']);
    expect(seen.ids).toEqual([out.echo, out.group]);
    expect(seen.members).toEqual(out.members);
    expect(seen.sums).toEqual([3, 7]);
    // The Python worker saw the Celeriac task as parent and root of what it sent.
    expect(seen.echo_parent).toBe(spawned.id);
    expect(seen.echo_root).toBe(spawned.id);
  });

  it('runs a chord whose header nests a group and chains across both sides, with a Celeriac body', async () => {
    // The chains' first steps get known ids, so their results can be cleaned up too.
    const firsts = [randomUUID(), randomUUID()];
    const header = [
      py('tasks.add', 1, 1),
      group(tsMul.s(2, 2).set({ queue: tsQueue }), py('tasks.add', 3, 3)),
      // A chain ending in Celeriac: the Python worker sends the last step with the chord on it.
      chain(py('tasks.add', 4, 4).set({ task_id: firsts[0] }), tsMul.s(10).set({ queue: tsQueue })),
      // A chain ending in Python: the Python worker counts the part in the Redis counters.
      chain(tsMul.s(5, 5).set({ queue: tsQueue, task_id: firsts[1] }), py('tasks.add', 1)),
    ];
    const result = await chord(header, tsCollect.s().set({ queue: tsQueue })).applyAsync();
    expect(await result.get({ timeout: 20_000 })).toEqual({ values: [2, 4, 6, 80, 26], by: 'celeriac' });
    ids.push(result.id, ...firsts, ...result.parent.results.map((r) => r.id));
  });
});

async function redisClient() {
  const { Redis } = await import('ioredis');
  return new Redis(backend);
}
