/**
 * Celery's remote-control commands and how their positional command-line arguments map to
 * keyword arguments (celery/worker/control.py `Panel.meta`, celery/bin/control.py
 * `_compile_arguments`). The CLI reads it; the mailbox uses it to tell "unknown" from "not here yet".
 */
export type ArgType = 'str' | 'int' | 'float' | 'bool';

export interface CommandMeta {
  readonly name: string;
  readonly type: 'inspect' | 'control';
  /** Positional arguments, in order, with how to convert them from text. */
  readonly args: ReadonlyArray<readonly [name: string, type: ArgType]>;
  /** The keyword that takes every remaining positional argument as a list. */
  readonly variadic?: string;
  /** Usage text after the command name. */
  readonly signature: string;
  /** Reply wait when the caller gives none. (Default: 1 s; ping 0.2 s as in Celery, but the CLI uses 1 s) */
  readonly defaultTimeoutMs: number;
  readonly help: string;
}

const meta = (
  name: string,
  type: CommandMeta['type'],
  help: string,
  extra: Partial<Pick<CommandMeta, 'args' | 'variadic' | 'signature' | 'defaultTimeoutMs'>> = {},
): CommandMeta =>
  Object.freeze({
    name,
    type,
    help,
    args: extra.args ?? [],
    variadic: extra.variadic,
    signature: extra.signature ?? (extra.args ?? []).map(([n]) => `<${n}>`).join(' '),
    defaultTimeoutMs: extra.defaultTimeoutMs ?? 1000,
  });

const ids = '[id1 [id2 [... [idN]]]]';

export const COMMANDS: ReadonlyMap<string, CommandMeta> = new Map(
  [
    meta('ping', 'inspect', 'Ping worker(s).', { defaultTimeoutMs: 200 }),
    meta('stats', 'inspect', 'Request worker statistics/information.'),
    meta('active', 'inspect', 'List of tasks currently being executed.'),
    meta('reserved', 'inspect', 'List of currently reserved tasks, not including scheduled/active.'),
    meta('scheduled', 'inspect', 'List of currently scheduled ETA/countdown tasks.'),
    meta('registered', 'inspect', 'List of registered tasks.', {
      variadic: 'taskinfoitems',
      signature: '[attr1 [attr2 [... [attrN]]]]',
    }),
    meta('revoked', 'inspect', 'List of revoked task-ids.'),
    meta('active_queues', 'inspect', 'List the task queues a worker is currently consuming from.'),
    meta('conf', 'inspect', 'List configuration.', { args: [['with_defaults', 'bool']] }),
    meta('query_task', 'inspect', 'Query for task information by id.', { variadic: 'ids', signature: ids }),
    meta('clock', 'inspect', 'Get current logical clock value.'),
    meta('report', 'inspect', 'Information about Celeriac installation for bug reports.'),
    meta('revoke', 'control', 'Revoke task by task id (or list of ids).', {
      variadic: 'task_id',
      signature: ids,
    }),
    meta('terminate', 'control', 'Terminate task by task id (or list of ids).', {
      args: [['signal', 'str']],
      variadic: 'task_id',
      signature: `<signal> ${ids}`,
    }),
    meta('rate_limit', 'control', 'Tell worker(s) to modify the rate limit for a task by type.', {
      args: [
        ['task_name', 'str'],
        ['rate_limit', 'str'],
      ],
      signature: '<task_name> <rate_limit (e.g., 5/s | 5/m | 5/h)>',
    }),
    meta('time_limit', 'control', 'Tell worker(s) to modify the time limit for task by type.', {
      args: [
        ['task_name', 'str'],
        ['soft', 'float'],
        ['hard', 'float'],
      ],
      signature: '<task_name> <soft_secs> [hard_secs]',
    }),
    meta('pool_grow', 'control', 'Grow pool by n processes/threads.', {
      args: [['n', 'int']],
      signature: '[N=1]',
    }),
    meta('pool_shrink', 'control', 'Shrink pool by n processes/threads.', {
      args: [['n', 'int']],
      signature: '[N=1]',
    }),
    meta('autoscale', 'control', 'Modify autoscale settings.', {
      args: [
        ['max', 'int'],
        ['min', 'int'],
      ],
      signature: '[max [min]]',
    }),
    meta('add_consumer', 'control', 'Tell worker(s) to consume from task queue by name.', {
      args: [
        ['queue', 'str'],
        ['exchange', 'str'],
        ['exchange_type', 'str'],
        ['routing_key', 'str'],
      ],
      signature: '<queue> [exchange [type [routing_key]]]',
    }),
    meta('cancel_consumer', 'control', 'Tell worker(s) to stop consuming from task queue by name.', {
      args: [['queue', 'str']],
      signature: '<queue>',
    }),
    meta('shutdown', 'control', 'Shutdown worker(s).'),
    meta('enable_events', 'control', 'Tell worker(s) to send task-related events.'),
    meta('disable_events', 'control', 'Tell worker(s) to stop sending task-related events.'),
    meta('heartbeat', 'control', 'Tell worker(s) to send event heartbeat immediately.'),
    meta('pool_restart', 'control', 'Restart execution pool.'),
    meta('election', 'control', 'Hold election.'),
  ].map((m) => [m.name, m] as const),
);

/** Thrown for command-line arguments that do not fit a command's signature. */
export class CommandArgumentError extends Error {
  readonly code = 'COMMAND_ARGUMENTS';
  constructor(message: string) {
    super(message);
    this.name = 'CommandArgumentError';
  }
}

/**
 * Positional words to keyword arguments, as `celery inspect|control <cmd> a b c` does:
 * `terminate KILL id1 id2` → `{signal: 'KILL', task_id: ['id1', 'id2']}`.
 */
export function compileArguments(command: CommandMeta, words: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let i = 0;
  for (; i < words.length && i < command.args.length; i++) {
    const [name, type] = command.args[i]!;
    out[name] = convert(command.name, name, type, words[i]!);
  }
  const rest = words.slice(i);
  if (command.variadic) out[command.variadic] = rest;
  else if (rest.length > 0) {
    throw new CommandArgumentError(
      `command ${JSON.stringify(command.name)} takes arguments: ${command.signature || '(none)'}`,
    );
  }
  return out;
}

function convert(command: string, name: string, type: ArgType, word: string): unknown {
  switch (type) {
    case 'str':
      return word;
    case 'bool': {
      // Python's strtobool.
      const w = word.toLowerCase();
      if (['y', 'yes', 't', 'true', 'on', '1'].includes(w)) return true;
      if (['n', 'no', 'f', 'false', 'off', '0'].includes(w)) return false;
      throw new CommandArgumentError(
        `${command}: ${name} must be true or false, got ${JSON.stringify(word)}`,
      );
    }
    case 'int':
    case 'float': {
      const n = Number(word);
      if (word.trim() === '' || !Number.isFinite(n) || (type === 'int' && !Number.isInteger(n))) {
        throw new CommandArgumentError(
          `${command}: ${name} must be ${type === 'int' ? 'an integer' : 'a number'}, got ${JSON.stringify(word)}`,
        );
      }
      return n;
    }
  }
}
