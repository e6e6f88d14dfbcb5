/** The worker-control paths of the OpenAPI document (merged into `openApiDocument`). */
const error = { $ref: '#/components/responses/Error' };
const json = (description: string) => ({
  description,
  content: { 'application/json': { schema: { type: 'object' } } },
});
const path = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description,
});
const field = (name: string, description: string, schema: object = { type: 'string' }) => ({
  name,
  in: 'query',
  schema,
  description,
});
const worker = path('name', 'worker hostname, e.g. celery@host');
/** Every control answers 404 for an unknown worker, 504 without a reply, 403 when the worker refuses. */
const replies = {
  200: json('{ message }: the worker’s reply'),
  400: error,
  403: error,
  404: error,
  504: error,
};
const post = (summary: string, parameters: object[]) => ({
  post: {
    summary,
    description:
      'Fields as query parameters, a JSON body or a form (Flower’s style); a form with `_page` redirects back to the worker page.',
    parameters,
    responses: replies,
  },
});

const rateLimit = [
  field('ratelimit', 'e.g. 10/m, 100/h, 5 (per second); 0 for none'),
  field('workername', 'one worker (default: every worker, answered with `replies`)'),
];
const timeout = [
  field('soft', 'soft limit in seconds (0 or empty: none)', { type: 'number', minimum: 0 }),
  field('hard', 'hard limit in seconds (0 or empty: none)', { type: 'number', minimum: 0 }),
  field('workername', 'one worker (default: every worker, answered with `replies`)'),
];
const taskname = field('taskname', 'the task (when it is not in the path)');

export const workerControlPaths = {
  '/api/task/rate-limit/{name}': post('Set a task’s rate limit (rate_limit)', [
    path('name', 'task name'),
    ...rateLimit,
  ]),
  '/api/task/rate-limit': post('Set a task’s rate limit, the task in `taskname`', [taskname, ...rateLimit]),
  '/api/task/timeout/{name}': post('Set a task’s soft and hard time limits (time_limit)', [
    path('name', 'task name'),
    ...timeout,
  ]),
  '/api/task/timeout': post('Set a task’s time limits, the task in `taskname`', [taskname, ...timeout]),
  '/api/worker/pool/grow/{name}': post('pool_grow', [worker, field('n', 'by how many (1-100, default 1)')]),
  '/api/worker/pool/shrink/{name}': post('pool_shrink', [
    worker,
    field('n', 'by how many (1-100, default 1)'),
  ]),
  '/api/worker/pool/autoscale/{name}': post('autoscale: new max and min pool size', [
    worker,
    field('max', 'largest pool', { type: 'integer', minimum: 1 }),
    field('min', 'smallest pool', { type: 'integer', minimum: 0 }),
  ]),
  '/api/worker/queue/add-consumer/{name}': post('add_consumer', [worker, field('queue', 'queue name')]),
  '/api/worker/queue/cancel-consumer/{name}': post('cancel_consumer', [worker, field('queue', 'queue name')]),
  '/api/worker/shutdown/{name}': post('shutdown (sent without waiting for a reply)', [worker]),
  '/api/worker/forget/{name}': post(
    'Forget a worker: removed from the state and the history, listed again only if it sends events again',
    [worker],
  ),
};
