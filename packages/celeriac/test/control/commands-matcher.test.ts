import { describe, expect, it } from 'vitest';
import { COMMANDS, compileArguments, CommandArgumentError } from '../../src/control/commands.ts';
import { LamportClock } from '../../src/control/lamport-clock.ts';
import { matchNode, MatcherNotInstalledError } from '../../src/control/matcher.ts';
import { formatReply } from '../../src/cli/output.ts';

describe('node matching (kombu/matcher.py)', () => {
  it('glob is a whole-name fnmatch; pcre is anchored at the start only', () => {
    expect(matchNode('celery@w1', 'celery@*', 'glob')).toBe(true);
    expect(matchNode('celery@w1', 'celery@w?', 'glob')).toBe(true);
    expect(matchNode('celery@w1', 'celery@w[!1]', 'glob')).toBe(false);
    expect(matchNode('celery@w1.example', 'celery@w1', 'glob')).toBe(false);
    expect(matchNode('a.b@c', 'a?b@c', 'glob')).toBe(true);
    expect(matchNode('a+b@c', 'a+b@c', 'glob')).toBe(true);
    expect(matchNode('celery@w1.example', 'celery@w\\d', 'pcre')).toBe(true);
    expect(matchNode('x-celery@w1', 'celery', 'pcre')).toBe(false);
    expect(() => matchNode('a', 'a', 'regex')).toThrow(MatcherNotInstalledError);
  });
});

describe('command arguments (celery/bin/control.py _compile_arguments)', () => {
  const get = (name: string) => COMMANDS.get(name)!;
  it('maps positional words onto typed arguments and the variadic rest', () => {
    expect(compileArguments(get('terminate'), ['KILL', 'id1', 'id2'])).toEqual({
      signal: 'KILL',
      task_id: ['id1', 'id2'],
    });
    expect(compileArguments(get('rate_limit'), ['tasks.add', '10/s'])).toEqual({
      task_name: 'tasks.add',
      rate_limit: '10/s',
    });
    expect(compileArguments(get('time_limit'), ['tasks.add', '1.5'])).toEqual({
      task_name: 'tasks.add',
      soft: 1.5,
    });
    expect(compileArguments(get('conf'), ['yes'])).toEqual({ with_defaults: true });
    expect(compileArguments(get('registered'), [])).toEqual({ taskinfoitems: [] });
  });
  it('rejects extra or mistyped words', () => {
    expect(() => compileArguments(get('ping'), ['x'])).toThrow(CommandArgumentError);
    expect(() => compileArguments(get('pool_grow'), ['1.5'])).toThrow(/n must be an integer/);
    expect(() => compileArguments(get('conf'), ['maybe'])).toThrow(/true or false/);
  });
});

describe('reply printing (celery/bin/base.py pretty)', () => {
  it('prints ok/error, lists and dicts as celery inspect does', () => {
    expect(formatReply({ 'celery@a': { ok: 'pong' } }, true)).toBe('->  celery@a: OK\n        pong');
    expect(formatReply({ 'celery@a': { error: 'unknown task' } }, true)).toBe(
      '->  celery@a: ERROR\n        unknown task',
    );
    expect(formatReply({ 'celery@a': ['t.b', 't.a'] }, true)).toBe('->  celery@a: OK\n    * t.b\n    * t.a');
    expect(formatReply({ 'celery@a': [] }, true)).toBe('->  celery@a: OK\n    - empty -');
    expect(formatReply({ 'celery@a': { b: 1, a: 2 } }, true)).toBe(
      '->  celery@a: OK\n    {\n        "a": 2,\n        "b": 1\n    }',
    );
    expect(formatReply({ 'celery@a': { ok: 'pong' } }, false)).toBe('->  celery@a: OK');
  });
});

describe('LamportClock', () => {
  it('forwards and adjusts past the other clock', () => {
    const clock = new LamportClock();
    expect(clock.forward()).toBe(1);
    expect(clock.adjust(10)).toBe(11);
    expect(clock.adjust(3)).toBe(12);
    expect(clock.adjust('junk')).toBe(13);
  });
});
