/** The periodic-task paths of the OpenAPI document (merged into `openApiDocument`). */
const error = { $ref: '#/components/responses/Error' };
const json = (description: string, schema: object = { type: 'object' }) => ({
  description,
  content: { 'application/json': { schema } },
});
const name = {
  name: 'name',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'entry name',
};

const fields = {
  type: 'object',
  description:
    'The form’s fields. Text for each, except args (array), kwargs (object), enabled and one_off (boolean), and numbers where a number is meant.',
  properties: {
    name: { type: 'string' },
    task: { type: 'string' },
    schedule_type: { enum: ['interval', 'crontab', 'solar', 'clocked'] },
    every: { type: ['number', 'string'], description: 'interval: how many periods' },
    period: { enum: ['seconds', 'minutes', 'hours', 'days'] },
    minute: { type: 'string', description: "crontab, Celery's grammar: '*', '*/15', '0,30', '1-5'" },
    hour: { type: 'string' },
    day_of_week: { type: 'string', description: '0-6 or sun-sat (0 = Sunday)' },
    day_of_month: { type: 'string' },
    month_of_year: { type: 'string' },
    timezone: { type: 'string', description: 'IANA zone for crontab fields and times without a zone' },
    solar_event: { type: 'string', description: 'sunrise, sunset, dawn_civil, …' },
    latitude: { type: ['number', 'string'] },
    longitude: { type: ['number', 'string'] },
    clocked_time: { type: 'string', description: 'ISO time; without a zone it is read in timezone' },
    args: { type: ['array', 'string'] },
    kwargs: { type: ['object', 'string'] },
    queue: { type: ['string', 'null'] },
    enabled: { type: ['boolean', 'string'] },
    one_off: { type: ['boolean', 'string'] },
    expires: {
      type: ['string', 'number', 'null'],
      description: 'ISO time, or seconds each message may wait',
    },
  },
};
const view = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    task: { type: 'string' },
    schedule: { type: 'object' },
    description: { type: 'string', description: 'the schedule in plain words' },
    enabled: { type: 'boolean' },
    one_off: { type: 'boolean' },
    args: { type: 'array' },
    kwargs: { type: 'object' },
    queue: { type: ['string', 'null'] },
    expires: { type: ['string', 'number', 'null'] },
    last_run_at: { type: ['string', 'null'] },
    next_run_at: { type: ['string', 'null'] },
    total_run_count: { type: 'integer' },
  },
};
const invalid = json('invalid fields: { error, fields: { <field>: <why> } }, nothing saved', {
  type: 'object',
  properties: {
    error: { type: 'object' },
    fields: { type: 'object', additionalProperties: { type: 'string' } },
  },
});
const body = { required: true, content: { 'application/json': { schema: fields } } };

export const periodicPaths = {
  '/api/periodic-tasks': {
    get: {
      summary: "Beat's periodic tasks with their schedule in words, last and next run",
      responses: {
        200: json('{ store, editable, periodic_tasks }'),
        401: error,
        501: json('the monitor has no schedule store (-S db --db-url …)'),
      },
    },
    post: {
      summary: 'Create a periodic task',
      requestBody: body,
      responses: { 201: json('the new entry', view), 400: invalid, 401: error, 405: error, 501: error },
    },
  },
  '/api/periodic-tasks/preview': {
    post: {
      summary: 'The schedule of a set of fields in plain words (the form’s live preview); saves nothing',
      requestBody: body,
      responses: { 200: json('{ description }'), 400: invalid, 401: error },
    },
  },
  '/api/periodic-tasks/{name}': {
    get: {
      summary: 'One periodic task',
      parameters: [name],
      responses: { 200: json('the entry', view), 401: error, 404: error },
    },
    put: {
      summary: 'Change a periodic task: the fields given replace the stored ones (e.g. { "enabled": false })',
      parameters: [name],
      requestBody: body,
      responses: { 200: json('the entry', view), 400: invalid, 401: error, 404: error, 405: error },
    },
    delete: {
      summary: 'Delete a periodic task',
      parameters: [name],
      responses: { 200: json('{ message }'), 401: error, 404: error, 405: error },
    },
  },
  '/api/periodic-tasks/{name}/run': {
    post: {
      summary: 'Send the task now, with the args, kwargs, queue and options beat would use',
      parameters: [name],
      responses: { 200: json('{ task-id, task, message }'), 401: error, 404: error },
    },
  },
};
