/**
 * No message can make a worker run code it was not started with: no eval, no Function constructor,
 * no vm, and the only module loaded from a computed path is the app module named on the command line
 * (`-A`), never one named by a message. Plus the dynamic side: a task name that looks like a module
 * is just an unregistered name, and `__proto__` in a message's kwargs pollutes nothing.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeTaskMessage } from '../../packages/celeriac/src/protocol/codec.ts';
import type { RawMessage } from '../../packages/celeriac/src/protocol/types.ts';
import { TaskError } from '../../packages/celeriac/src/result/exceptions.ts';
import { memoryApp, startWorker, stopAll } from '../../packages/celeriac/test/worker/helpers.ts';

afterEach(stopAll);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCES = ['packages/celeriac/src', 'packages/celeriac/bin', 'packages/monitor/src'];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|js|mjs|cjs)$/.test(name) && !/\.test\.ts$/.test(name)) out.push(path);
  }
  return out;
}

/** Source text without comments, so a comment that mentions eval( does not count. */
function code(path: string): string {
  return readFileSync(path, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

describe('no code from message content', () => {
  const files = SOURCES.flatMap((dir) => sourceFiles(join(ROOT, dir)));

  it('scans a real source tree', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files.some((f) => f.endsWith('protocol/codec.ts'))).toBe(true);
  });

  it('has no eval, Function constructor, vm or string timers', () => {
    const forbidden = [
      // (a method signature such as `eval(script: string, …)`, ioredis' EVAL of our own Lua, is not a call)
      /(^|[^.\w])eval\s*\((?!\s*\w+\s*:)/,
      /new\s+Function\s*\(/,
      /(^|[^.\w])Function\s*\(\s*['"`]/,
      /from\s+['"](node:)?vm['"]/,
      /import\(\s*['"](node:)?vm['"]\s*\)/,
      /set(Timeout|Interval|Immediate)\(\s*['"`]/,
    ];
    const hits = files.flatMap((file) =>
      forbidden.filter((re) => re.test(code(file))).map((re) => `${relative(ROOT, file)}: ${re}`),
    );
    expect(hits).toEqual([]);
  });

  it('loads a module from a computed path in one place only: the -A app module', () => {
    // import(x) where x is not a string literal: the place a message could steer code loading.
    const computed = files.flatMap((file) =>
      [...code(file).matchAll(/(?<![\w.])import\(\s*(?!['"`])([^)]*)\)/g)].map(
        (m) => `${relative(ROOT, file)}: import(${m[1]})`,
      ),
    );
    expect(computed).toEqual(['packages/celeriac/src/cli/load-app.ts: import(pathToFileURL(file)']);
    // And nothing requires by a computed name either.
    const requires = files.filter((file) => /(?<![\w.])require\(\s*(?!['"`])/.test(code(file)));
    expect(requires.map((f) => relative(ROOT, f))).toEqual([]);
  });

  it('a task name that names a module is only an unregistered task; nothing is loaded or run', async () => {
    const app = memoryApp();
    const ran: string[] = [];
    app.task('safe.echo', (s: string) => (ran.push(s), s));
    await startWorker(app);
    for (const name of [
      'child_process.execSync',
      'node:child_process',
      '../../../etc/passwd',
      'constructor',
    ]) {
      const sent = await app.sendTask(name, ['touch /tmp/celeriac-should-not-exist']);
      const error = await sent.get({ timeout: 5_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TaskError);
      expect(error).toMatchObject({ excType: 'NotRegistered' });
    }
    expect(await (await app.sendTask('safe.echo', ['ok'])).get({ timeout: 5_000 })).toBe('ok');
    expect(ran).toEqual(['ok']);
  });

  it('__proto__ and constructor keys in a message stay plain data', async () => {
    const kwargsBody =
      '[[], {"__proto__": {"polluted": 2}, "constructor": {"prototype": {"polluted": 3}}}, {}]';
    const message = decodeTaskMessage(raw('proto-0', kwargsBody));
    expect(Object.keys(message.kwargs).sort()).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const app = memoryApp();
    app.task('safe.keys', (arg: unknown) => Object.keys(arg as object), { params: ['arg'] });
    await startWorker(app);
    const transport = await app.connection();
    const route = { exchange: '', routingKey: 'celery' };
    await transport.publish(raw('proto-1', '[[{"__proto__": {"polluted": 1}}], {}, {}]'), route);
    await transport.publish(raw('proto-2', kwargsBody), route);
    // The argument arrives as an object with an own "__proto__" key, nothing more.
    expect(await app.AsyncResult('proto-1').get({ timeout: 5_000 })).toEqual(['__proto__']);
    // Unknown keyword names are refused as Python refuses them, "__proto__" included.
    const error = await app
      .AsyncResult('proto-2')
      .get({ timeout: 5_000 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ excType: 'TypeError' });
    expect((error as Error).message).toMatch(/unexpected keyword argument '__proto__'/);
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

function raw(id: string, body: string): RawMessage {
  return {
    body: Buffer.from(body),
    properties: {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      correlationId: id,
      headers: { lang: 'py', task: 'safe.keys', id },
    },
  };
}
