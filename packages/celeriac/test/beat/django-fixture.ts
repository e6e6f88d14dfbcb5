import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = fileURLToPath(new URL('./fixtures/django_beat.py', import.meta.url));

/**
 * Runs steps on real django-celery-beat 2.4 (Debian's python3-django-celery-beat) against a SQLite
 * file, one Django start-up for all of them; each step that prints gives one JSON value.
 */
export async function django(dbPath: string, ...steps: Array<[string, object?]>): Promise<unknown[]> {
  const { stdout } = await run('/usr/bin/python3', [
    script,
    dbPath,
    JSON.stringify(steps.map(([c, a]) => [c, a ?? {}])),
  ]);
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as unknown);
}
