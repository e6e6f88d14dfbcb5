/** The stored-results paths of the OpenAPI document (merged into `openApiDocument`). */
const error = { $ref: '#/components/responses/Error' };
const json = (description: string, schema: object = { type: 'object' }) => ({
  description,
  content: { 'application/json': { schema } },
});
const q = (name: string, description: string, schema: object = { type: 'string' }) => ({
  name,
  in: 'query',
  schema,
  description,
});
const id = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'task id' };

const result = {
  type: 'object',
  properties: {
    task_id: { type: 'string' },
    task_name: { type: ['string', 'null'] },
    status: { type: 'string' },
    worker: { type: ['string', 'null'] },
    date_created: { type: 'string', format: 'date-time' },
    date_done: { type: ['string', 'null'], format: 'date-time' },
    task_args: {
      type: ['string', 'null'],
      description: 'JSON, or the Python repr in django-celery-results’ table',
    },
    task_kwargs: { type: ['string', 'null'] },
    result: {},
    traceback: { type: ['string', 'null'] },
    meta: {},
  },
};

export const resultsPaths = {
  '/api/results': {
    get: {
      summary: 'Stored results (SQL result backend), newest first, with keyset pagination',
      parameters: [
        q('limit', '1..500 (default 50)', { type: 'integer' }),
        q('cursor', '`next` of the previous page'),
        q('state', 'one state or several, comma-separated'),
        q('taskname', 'exact task name'),
        q('search', 'the task id, or a substring of the id, name, args or kwargs'),
        q('date_from', 'created at or after: ISO time (UTC without a zone) or epoch seconds'),
        q('date_to', 'created before'),
      ],
      responses: {
        200: json('{ results, next, total: { count, kind: exact | estimate | at-least }, limit }', {
          type: 'object',
          properties: {
            results: { type: 'array', items: result },
            next: { type: ['string', 'null'] },
            total: { type: 'object' },
            limit: { type: 'integer' },
          },
        }),
        400: error,
        401: error,
        501: error,
      },
    },
  },
  '/api/results/{id}': {
    get: {
      summary: 'One stored result: result, traceback, args, kwargs, meta',
      parameters: [id],
      responses: { 200: json('the result', result), 404: error, 501: error },
    },
    delete: {
      summary: 'Delete one stored result',
      parameters: [id],
      responses: { 200: json('{ message, task_id }'), 403: error, 404: error, 501: error },
    },
  },
};
