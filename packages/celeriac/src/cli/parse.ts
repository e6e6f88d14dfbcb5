import { UsageError } from './errors.ts';

/** `--args '[2, 2]'`: a JSON array, or a usage error that shows what was wrong. */
export function parseJsonArray(text: string | undefined, flag: string): unknown[] {
  if (text === undefined) return [];
  const value = parseJson(text, flag);
  if (!Array.isArray(value))
    throw new UsageError(`${flag} must be a JSON array such as '[2, 2]', got ${text}`);
  return value;
}

/** `--kwargs '{"x": 1}'`: a JSON object. */
export function parseJsonObject(text: string | undefined, flag: string): Record<string, unknown> {
  if (text === undefined) return {};
  const value = parseJson(text, flag);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${flag} must be a JSON object such as '{"x": 1}', got ${text}`);
  }
  return value as Record<string, unknown>;
}

function parseJson(text: string, flag: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${flag} is not valid JSON (${(error as Error).message}): ${text}`);
  }
}

/** A non-negative number of seconds (`--countdown 1.5`); returns it in seconds. */
export function parseSeconds(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`${flag} must be a number of seconds (e.g. 10 or 0.5), got ${JSON.stringify(text)}`);
  }
  return n;
}

/** An integer within bounds (`-c 4`, `--priority 9`). */
export function parseInteger(
  text: string | undefined,
  flag: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(
      `${flag} must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}, got ${JSON.stringify(text)}`,
    );
  }
  return n;
}

/** An ISO 8601 time (`--eta 2030-01-01T10:00:00Z`). */
export function parseIsoTime(text: string | undefined, flag: string): string | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(Date.parse(text))) {
    throw new UsageError(
      `${flag} must be an ISO 8601 time such as 2030-01-01T10:00:00Z, got ${JSON.stringify(text)}`,
    );
  }
  return new Date(text).toISOString();
}

/** `-Q a,b` → ['a', 'b']; empty items are dropped. */
export function commaList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length > 0 ? items : undefined;
}
