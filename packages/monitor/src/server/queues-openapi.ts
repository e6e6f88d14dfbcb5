/** The queue paths of the OpenAPI document (merged into `openApiDocument`). */
const error = { $ref: '#/components/responses/Error' };
const json = (description: string, schema: object = { type: 'object' }) => ({
  description,
  content: { 'application/json': { schema } },
});
const queueParam = {
  name: 'queue',
  in: 'query',
  schema: { type: 'array', items: { type: 'string' } },
  style: 'form',
  explode: true,
  description: 'also watch these queues (repeat the parameter; remembered for 10 minutes)',
};
const count = { type: ['integer', 'null'] };

export const queuesPaths = {
  '/api/queues': {
    get: {
      summary:
        'Queues: the default, declared, workers’ (inspect active_queues) and asked-for ones, with counts from the broker',
      parameters: [queueParam],
      responses: {
        200: json('{ at, broker, describes, queues }', {
          type: 'object',
          properties: {
            at: { type: 'integer', description: 'epoch ms' },
            broker: { type: 'string' },
            describes: { type: 'string', description: 'what the broker can tell' },
            queues: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  name: { type: 'string' },
                  exists: { type: 'boolean', description: 'false: the broker has no such queue' },
                  ready: count,
                  unacked: count,
                  consumers: count,
                  workers: { type: 'array', items: { type: 'string' } },
                  trend: { type: ['number', 'null'], description: 'backlog change, messages/s, last minute' },
                  trendSeconds: { type: 'integer' },
                  publishRate: { type: ['number', 'null'], description: 'management API only' },
                  deliverRate: { type: ['number', 'null'], description: 'management API only' },
                  sources: { type: 'array', items: { enum: ['default', 'declared', 'worker', 'requested'] } },
                },
              },
            },
          },
        }),
        400: error,
        503: error,
      },
    },
  },
  '/api/queues/length': {
    get: {
      summary: 'Ready messages per queue (Flower’s shape)',
      parameters: [queueParam],
      responses: { 200: json('{ active_queues: [{ name, messages }] }'), 400: error, 503: error },
    },
  },
};
