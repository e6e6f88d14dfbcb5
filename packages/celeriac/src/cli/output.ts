/**
 * How `celery inspect|control|status` print replies (celery/bin/base.py `pretty`,
 * celery/bin/control.py `_say_remote_command_reply`), so scripts written against Celery's output
 * keep working:
 *
 *     ->  celery@w1: OK
 *             pong
 */
export function formatReply(reply: Record<string, unknown>, showBody: boolean): string {
  const lines: string[] = [];
  for (const [node, value] of Object.entries(reply)) {
    const [status, body] = pretty(value);
    lines.push(`->  ${node}: ${status}`);
    if (showBody && body) lines.push(indent(body, 4));
  }
  return lines.join('\n');
}

/** `N node(s) online.` after a blank line. */
export function formatOnline(count: number): string {
  return `\n${count} ${count === 1 ? 'node' : 'nodes'} online.`;
}

function pretty(value: unknown): [status: 'OK' | 'ERROR', text: string] {
  if (Array.isArray(value))
    return ['OK', value.length === 0 ? '- empty -' : value.map((item) => `* ${scalar(item)}`).join('\n')];
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if ('ok' in record) return ['OK', indent(pretty(record.ok)[1], 4)];
    if ('error' in record) return ['ERROR', indent(pretty(record.error)[1], 4)];
    return ['OK', JSON.stringify(sortKeys(record), null, 4)];
  }
  if (typeof value === 'string') return ['OK', value];
  return ['OK', JSON.stringify(value) ?? 'None'];
}

/** List items print as Python would: strings bare, the rest as JSON. */
function scalar(item: unknown): string {
  return typeof item === 'string' ? item : JSON.stringify(sortKeys(item));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}

export function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}

/** Writes a line to stdout. */
export function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Writes a line to stderr. */
export function warn(text: string): void {
  process.stderr.write(`${text}\n`);
}
