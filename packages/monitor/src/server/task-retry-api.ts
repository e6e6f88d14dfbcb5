import type { Hono } from 'hono';
import type { Monitor } from '../monitor.ts';
import { parsePythonLiteral, PythonLiteralError } from '../state/python-literal.ts';
import { MonitorHttpError, notFound } from './errors.ts';
import type { MonitorEnv } from './types.ts';

/**
 * `POST /api/task/retry/:id`: sends the task again (new id, same name and arguments). The
 * arguments come from the reprs in its events, so a task whose arguments are not plain literals
 * (or were cut short) is refused with 422 rather than re-sent with something else.
 */
export function registerTaskRetryApi(app: Hono<MonitorEnv>, monitor: Monitor): void {
  app.post('/api/task/retry/:id', async (c) => {
    const id = c.req.param('id');
    const task =
      monitor.state.task(id) ?? (id.length <= 255 ? await monitor.history?.get(id) : undefined) ?? undefined;
    if (!task) throw notFound(`task ${id}`);
    if (!task.name) throw unprocessable(`task ${id} has no name in its events (no task-received seen)`);
    let args: unknown;
    let kwargs: unknown;
    try {
      args = parsePythonLiteral(task.args ?? '()');
      kwargs = parsePythonLiteral(task.kwargs ?? '{}');
    } catch (error) {
      if (!(error instanceof PythonLiteralError)) throw error;
      throw unprocessable(
        `cannot send ${task.name} again from the monitor: its arguments are not plain literals (${error.message}); send it again from code`,
      );
    }
    if (!Array.isArray(args) || typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs))
      throw unprocessable('args must be a list or tuple and kwargs a dict');
    const result = await monitor.app.sendTask(task.name, args, kwargs as Record<string, unknown>);
    monitor.logger.info(
      { task: task.name, id: result.id, retryOf: id, user: c.get('principal').user },
      'monitor: task sent again',
    );
    return c.json({ 'task-id': result.id, message: `Sent again as ${result.id}` });
  });
}

function unprocessable(message: string): MonitorHttpError {
  return new MonitorHttpError(422, 'not_retryable', message);
}

/** Merged into `/openapi.json` by `openapi.ts`. */
export const taskRetryApiPaths = {
  '/api/task/retry/{id}': {
    post: {
      summary: 'Send a task again (same name, args and kwargs, new id), read back from its events',
      parameters: [
        { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'task id' },
      ],
      responses: {
        200: { description: '{ "task-id", message }' },
        404: { $ref: '#/components/responses/Error' },
        422: { $ref: '#/components/responses/Error' },
      },
    },
  },
};
