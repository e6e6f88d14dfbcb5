import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

export const uuid = randomUUID;

/** The sender name Celery uses for clients: `gen<pid>@<host>` (`anon_nodename`). */
export function anonNodename(): string {
  return `gen${process.pid}@${hostname()}`;
}

/** A worker's node name; `%h` is the host name and `%n` the part before the first dot, as in Celery. */
export function workerNodename(template = 'celery@%h'): string {
  const host = hostname();
  const name = template
    .replace(/%h/g, host)
    .replace(/%n/g, host.split('.')[0] ?? host)
    .replace(/%i/g, String(process.pid));
  return name.includes('@') ? name : `${name}@${host}`;
}

/** A URL with its password replaced by `**`, for logs and banners. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z0-9+.-]+:\/\/[^:/@]*:)[^@]*@/i, '$1**@');
}
