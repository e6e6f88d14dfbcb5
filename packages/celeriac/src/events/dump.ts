/**
 * Lines as `celery events --dump` prints them (celery/events/dumper.py `Dumper.on_event`):
 * `<hostname> [<utc time>] <human type>: <task> <key=value, ...>`.
 */

const HUMAN_TYPES: Record<string, string> = {
  'worker-offline': 'shutdown',
  'worker-online': 'started',
  'worker-heartbeat': 'heartbeat',
};

/** Remembers task names from task-received/task-sent so later events of the task can show them. */
export class EventDumpState {
  private readonly names = new Map<string, string>();
  constructor(private readonly limit = 10_000) {}

  remember(uuid: string, description: string): void {
    this.names.set(uuid, description);
    // Bounded like an LRU: a dump may run for days.
    if (this.names.size > this.limit) this.names.delete(this.names.keys().next().value as string);
  }

  lookup(uuid: string): string {
    return this.names.get(uuid) ?? '';
  }
}

/** One event as a `celery events --dump` line. */
export function formatEvent(event: object, state: EventDumpState): string {
  const ev: Record<string, unknown> = { ...event };
  const timestamp = typeof ev.timestamp === 'number' ? utcTime(ev.timestamp) : String(ev.timestamp);
  const type = String(ev.type).toLowerCase();
  const hostname = String(ev.hostname);
  delete ev.timestamp;
  delete ev.type;
  delete ev.hostname;
  delete ev.local_received;
  const human = HUMAN_TYPES[type] ?? type.replace(/-/g, ' ');
  let task: string | undefined;
  if (type.startsWith('task-')) {
    const uuid = String(ev.uuid);
    delete ev.uuid;
    if (type === 'task-received' || type === 'task-sent') {
      task = `${pyStr(ev.name)}(${uuid}) args=${pyStr(ev.args)} kwargs=${pyStr(ev.kwargs)}`;
      delete ev.name;
      delete ev.args;
      delete ev.kwargs;
      state.remember(uuid, task);
    } else {
      task = state.lookup(uuid);
    }
  }
  const fields = Object.keys(ev)
    .sort()
    .map((key) => `${key}=${pyStr(ev[key])}`)
    .join(', ');
  const sep = fields ? ':' : '';
  return task === undefined
    ? `${hostname} [${timestamp}] ${human}${sep} ${fields}`
    : `${hostname} [${timestamp}] ${human}${sep} ${task} ${fields}`;
}

/** Python's `str(datetime.utcfromtimestamp(ts))`: `2022-10-01 12:00:10.456000`. */
function utcTime(seconds: number): string {
  const iso = new Date(Math.floor(seconds * 1000)).toISOString();
  const micros = Math.round((seconds % 1) * 1e6) % 1e6;
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  return micros === 0 ? base : `${base}.${String(micros).padStart(6, '0')}`;
}

/** `str(value)` as Python prints what JSON gave it (None, True, lists of reprs). */
function pyStr(value: unknown): string {
  return typeof value === 'string' ? value : pyRepr(value);
}

function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object')
    return `{${Object.entries(value)
      .map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`)
      .join(', ')}}`;
  return String(value);
}
