import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';

/** The form field and cookie names Django uses, so the seed's templates read the same. */
export const CSRF_FIELD = 'csrfmiddlewaretoken';
const CSRF_COOKIE = 'csrftoken';

export type CsrfEnv = { Variables: { csrfToken: string } };

/**
 * Double-submit token: a random value in a SameSite cookie that every form repeats in a hidden
 * field. Another site can make a browser send the cookie, but cannot read it to fill in the field.
 */
export function csrfCookie(): MiddlewareHandler<CsrfEnv> {
  return async (c, next) => {
    let token = getCookie(c, CSRF_COOKIE);
    if (!token || !/^[0-9a-f]{64}$/.test(token)) {
      token = randomBytes(32).toString('hex');
      setCookie(c, CSRF_COOKIE, token, {
        path: '/',
        httpOnly: true,
        sameSite: 'Lax',
        maxAge: 365 * 24 * 3600,
      });
    }
    c.set('csrfToken', token);
    await next();
  };
}

/** Whether the submitted field matches the cookie the request came with. */
export function csrfValid(c: Context<CsrfEnv>, submitted: unknown): boolean {
  const cookie = getCookie(c, CSRF_COOKIE);
  if (typeof submitted !== 'string' || !cookie || submitted.length !== cookie.length) return false;
  return timingSafeEqual(Buffer.from(submitted), Buffer.from(cookie));
}
