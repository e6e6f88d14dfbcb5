import type { Task } from '../task/task.ts';

/**
 * The positional arguments a task function is called with: `args`, then each keyword put at
 * the position its name has in the task's `params` option. A JavaScript function has no
 * reliable parameter names at run time, so a task that takes keywords must declare them.
 * Throws a TypeError (stored as FAILURE, as Python's call would) that says the fix.
 */
export function callArguments(
  task: Task<never[], unknown>,
  args: unknown[],
  kwargs: Record<string, unknown>,
): unknown[] {
  let keys: string[] | undefined;
  for (const key in kwargs) {
    (keys ??= []).push(key);
  }
  if (!keys) return args;
  const params = task.options.params;
  if (!params) {
    throw new TypeError(
      `${task.name}() got keyword arguments (${keys.join(', ')}) but the task declares no parameter names: ` +
        `register it with app.task(${JSON.stringify(task.name)}, fn, { params: [...] }) so keywords map onto positions`,
    );
  }
  const out = args.slice();
  for (const key of keys) {
    const index = params.indexOf(key);
    if (index < 0) {
      throw new TypeError(
        `${task.name}() got an unexpected keyword argument '${key}' (declared params: ${params.join(', ') || 'none'}); ` +
          `add it to the task's \`params\` option or stop sending it`,
      );
    }
    if (index < args.length) {
      throw new TypeError(
        `${task.name}() got multiple values for argument '${key}' (positional and keyword)`,
      );
    }
    out[index] = kwargs[key];
  }
  // Positions between the last positional and a keyword stay undefined, so JS defaults apply.
  return out;
}
