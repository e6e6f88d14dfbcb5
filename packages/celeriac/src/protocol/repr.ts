/**
 * A Python-flavoured `saferepr` (celery/utils/saferepr.py) for argsrepr, kwargsrepr and the
 * repr strings in events, so Flower and `celery events` show what a Python user expects.
 */
export function saferepr(value: unknown, maxLength = 1024): string {
  const text = repr(value, 0);
  return text.length > maxLength ? `${text.slice(0, maxLength - 3)}...` : text;
}

/** Positional arguments as a Python tuple: `(2, 2)`, `(1,)`, `()`. */
export function argsRepr(args: readonly unknown[], maxLength = 1024): string {
  const inner = args.map((a) => repr(a, 1)).join(', ');
  return truncate(`(${inner}${args.length === 1 ? ',' : ''})`, maxLength);
}

function truncate(text: string, maxLength: number): string {
  return text.length > maxLength ? `${text.slice(0, maxLength - 3)}...` : text;
}

function repr(value: unknown, depth: number): string {
  if (depth > 8) return '...';
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number')
    return Number.isInteger(value) || !Number.isFinite(value) ? pyNumber(value) : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return pyString(value);
  if (Buffer.isBuffer(value)) return `b${pyString(value.toString('latin1'))}`;
  if (Array.isArray(value)) return `[${value.map((v) => repr(v, depth + 1)).join(', ')}]`;
  if (value instanceof Error) return `${value.name}(${pyString(value.message)})`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(
      ([k, v]) => `${pyString(k)}: ${repr(v, depth + 1)}`,
    );
    return `{${entries.join(', ')}}`;
  }
  return pyString(String(value));
}

function pyNumber(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  return String(n);
}

function pyString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  const escaped = s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
  return quote === "'" ? `'${escaped.replace(/'/g, "\\'")}'` : `"${escaped}"`;
}
