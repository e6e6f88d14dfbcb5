import type { Beat, Celeriac, ResultMeta } from 'celeriac';
import type { SiteConfig } from '../config.ts';
import type { FeedbackTasks } from '../create-tasks.ts';
import type { SmtpCatcher } from '../smtp-catcher.ts';

/** What the web site needs: the producing app and its tasks, and in embedded mode the catcher and beat. */
export interface SiteDeps {
  config: SiteConfig;
  tasks: Pick<FeedbackTasks, 'app' | 'add' | 'sendFeedbackEmail'>;
  mode: 'embedded' | 'distributed';
  /** The local SMTP catcher, when emails go to it (no `SMTP_URL`). */
  catcher?: SmtpCatcher;
  /** Beat, when it runs in this process (embedded mode). */
  beat?: Beat;
}

/** A row of the SQL backend's `list()` (celeriac's `SqlBackend`); typed here as far as the site reads it. */
export interface StoredResult extends ResultMeta {
  created_at_ms: number;
  updated_at_ms: number;
}

interface ListingBackend {
  list(options: { limit?: number; offset?: number; name?: string }): Promise<StoredResult[]>;
}

/** Stored results, newest first; undefined when the backend cannot list (only the SQL backend can). */
export async function listResults(app: Celeriac, limit = 50): Promise<StoredResult[] | undefined> {
  const backend = (await app.backend()) as Partial<ListingBackend> | undefined;
  if (!backend || typeof backend.list !== 'function') return undefined;
  return backend.list({ limit });
}

/** A result as text for a page: the value as JSON, or `Type: message` for a failure or retry. */
export function formatResult(meta: Pick<ResultMeta, 'status' | 'result'>): string {
  const r = meta.result as { exc_type?: unknown; exc_message?: unknown } | null | undefined;
  if (r && typeof r === 'object' && typeof r.exc_type === 'string') {
    const message = Array.isArray(r.exc_message)
      ? r.exc_message.map(String).join(', ')
      : String(r.exc_message ?? '');
    return `${r.exc_type}: ${message}`;
  }
  if (meta.status === 'PENDING' || meta.status === 'STARTED') return '';
  return JSON.stringify(meta.result) ?? '';
}

/** Tasks whose arguments and result hold personal data (names, addresses, messages). */
const PRIVATE_TASKS = new Set(['tasks.send_feedback_email']);

/**
 * What the public pages show of a task: arguments as JSON and the result as text (both shortened),
 * and the raw result for the JSON API. The
 * feedback task's arguments and result (addresses, messages) stay out of the public pages.
 */
export function publicView(meta: ResultMeta): { args: string; result: string; value: unknown } {
  const shorten = (text: string) => (text.length > 80 ? `${text.slice(0, 79)}…` : text);
  if (meta.name && PRIVATE_TASKS.has(meta.name)) {
    const result = meta.status === 'SUCCESS' ? 'email sent' : formatResult(meta);
    return { args: '(name, email, message: not shown)', result: shorten(result), value: null };
  }
  return {
    args: meta.args ? shorten(JSON.stringify(meta.args)) : '',
    result: shorten(formatResult(meta)),
    value: meta.result ?? null,
  };
}

/** Task ids are uuids; anything else is refused before it reaches the backend. */
export const TASK_ID = /^[A-Za-z0-9-]{1,64}$/;
