import { basePath, meta } from './page.ts';

/** A POST the server accepts from this page: same origin, JSON, and the session's CSRF token. */
export async function postJson(
  url: string,
  body: unknown,
): Promise<{ message?: string; error?: { message: string } }> {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': meta('csrf-token') },
    body: JSON.stringify(body),
  });
  return (await response.json()) as { message?: string; error?: { message: string } };
}

export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(`${basePath()}${path}`, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
}
