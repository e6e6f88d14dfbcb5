/**
 * The REST API's OpenAPI 3.1 description, written out (the API is small and this stays readable);
 * `test/api.test.ts` checks that every documented path answers.
 */
import { periodicPaths } from './periodic-openapi.ts';
import { queuesPaths } from './queues-openapi.ts';
import { resultsPaths } from './results-openapi.ts';
import { statsApiPaths } from './stats-api.ts';
import { taskRetryApiPaths } from './task-retry-api.ts';
import { workerControlPaths } from './worker-control-openapi.ts';
import { statusOpenApiPaths } from './status-api.ts';

const error = { $ref: '#/components/responses/Error' };
const json = (description: string, schema: object = { type: 'object' }) => ({
  description,
  content: { 'application/json': { schema } },
});
const idParam = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description,
});
const q = (name: string, description: string, schema: object = { type: 'string' }) => ({
  name,
  in: 'query',
  schema,
  description,
});

export function openApiDocument(base: string): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Celeriac monitor API',
      version: '0.1.0',
      description:
        'Workers, tasks and queues of a Celery-protocol cluster. Authenticate with a session cookie (then send X-CSRF-Token on every POST) or with `Authorization: Bearer <token>`.',
    },
    servers: [{ url: base || '/' }],
    security: [{ bearer: [] }, { session: [] }],
    paths: {
      '/api/workers': {
        get: {
          summary: 'Workers seen on the event stream, with liveness and the last inspect replies',
          parameters: [
            q('refresh', 'ask the workers now (inspect stats, queues, registered, ...)'),
            q('workername', 'only this worker'),
          ],
          responses: { 200: json('worker name → worker'), 401: error },
        },
      },
      '/api/tasks': {
        get: {
          summary: 'Tasks, newest first, filtered and paginated',
          parameters: [
            q('limit', '1..1000 (default 100)', { type: 'integer' }),
            q('offset', 'default 0', { type: 'integer' }),
            q('state', 'one state or several, comma-separated'),
            q('taskname', 'exact task name'),
            q('workername', 'exact node name'),
            q(
              'search',
              'with a history: an id prefix, else a substring of name/args/kwargs over the newest 100,000 matching rows per page; from memory: a substring of the uuid, name, args, kwargs or result',
            ),
            q('after', 'keyset cursor: the `next` of a previous page (history)'),
            q('before', 'keyset cursor: the `prev` of a previous page (history)'),
            q('received_start', 'ISO date or epoch seconds'),
            q('received_end', 'ISO date or epoch seconds'),
            q('sort_by', 'received, started, timestamp, name or runtime; prefix - for descending'),
          ],
          responses: {
            200: json(
              '{ total, totalCapped, offset, limit, tasks, next?, prev?, source }: total counts up to 10,000 (totalCapped: more)',
            ),
            400: error,
            401: error,
          },
        },
      },
      '/api/task/info/{id}': {
        get: {
          summary: 'One task as the events describe it',
          parameters: [idParam('id', 'task id')],
          responses: { 200: json('the task'), 404: error },
        },
      },
      '/api/task/result/{id}': {
        get: {
          summary: "The result backend's record",
          parameters: [idParam('id', 'task id')],
          responses: { 200: json('result meta'), 501: error },
        },
      },
      '/api/task/send-task/{name}': {
        post: {
          summary: 'Send a task by name',
          parameters: [idParam('name', 'task name')],
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    args: { type: 'array' },
                    kwargs: { type: 'object' },
                    options: {
                      type: 'object',
                      properties: {
                        countdown: { type: 'number', description: 'seconds' },
                        eta: { type: 'string', format: 'date-time' },
                        expires: { type: ['number', 'string'] },
                        queue: { type: 'string' },
                        priority: { type: 'integer' },
                        taskId: { type: 'string' },
                      },
                    },
                  },
                },
              },
            },
          },
          responses: { 200: json('{ "task-id": ..., state: "PENDING" }'), 400: error, 403: error },
        },
      },
      '/api/task/revoke/{id}': {
        post: {
          summary: 'Revoke a task (terminate=true also ends it if running)',
          parameters: [idParam('id', 'task id'), q('terminate', 'true|false'), q('signal', 'e.g. SIGTERM')],
          responses: { 200: json('{ message }'), 403: error },
        },
      },
      // rate/time limits and /api/worker/*: worker-control-openapi.ts
      '/api/events': {
        get: {
          summary: 'Server-sent events: `task` and `worker` batches (JSON arrays)',
          parameters: [
            q(
              'since',
              "a version (a page's `live-since`, or a batch's SSE id): first sends what changed after it (Last-Event-ID wins)",
            ),
          ],
          responses: { 200: { description: 'text/event-stream' }, 400: error },
        },
      },
      '/metrics': {
        get: {
          summary: "Prometheus metrics with Flower's names",
          responses: { 200: { description: 'text/plain' } },
        },
      },
      ...statsApiPaths,
      ...workerControlPaths,
      ...taskRetryApiPaths,
      ...periodicPaths,
      ...queuesPaths,
      ...resultsPaths,
      ...statusOpenApiPaths,
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        session: { type: 'apiKey', in: 'cookie', name: 'celeriac_monitor_session' },
      },
      responses: {
        Error: json('an error', {
          type: 'object',
          properties: {
            error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
          },
        }),
      },
    },
  };
}
