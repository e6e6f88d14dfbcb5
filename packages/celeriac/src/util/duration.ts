/**
 * Durations in config are numbers of milliseconds (`...Ms`) or strings like `'500ms'`, `'5s'`,
 * `'2m'`, `'1h'`, `'1d'`. A bare number string is seconds, as on Celery's command line.
 */
export function parseDuration(value: number | string, what = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new RangeError(`${what} must be a non-negative number of ms`);
    return value;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!match)
    throw new RangeError(
      `${what} ${JSON.stringify(value)} is not a duration like '500ms', '5s', '2m', '1h' or '1d'`,
    );
  const amount = Number(match[1]);
  const unit = match[2] ?? 's';
  return amount * UNIT_MS[unit]!;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
