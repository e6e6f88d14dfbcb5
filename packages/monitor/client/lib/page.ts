/** What the server put in the page head: where the monitor is mounted and the CSRF token. */
export function meta(name: string): string {
  return document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? '';
}

export const basePath = (): string => meta('base-path');

/** The page's `data-page` (dashboard, tasks, task, workers, ...). */
export const currentPage = (): string => document.body.dataset.page ?? '';
