import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Passwords, sessions and the log-in throttle. Passwords are kept only as scrypt hashes
 * (`scrypt$N$r$p$salt$hash`, base64url); a plain password from the environment is hashed at
 * start and the plain text dropped.
 */

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

function scryptAsync(
  password: string,
  salt: Buffer,
  keylen: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.keylen, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  );
}

export function isPasswordHash(value: string): boolean {
  return /^scrypt\$\d+\$\d+\$\d+\$[\w-]+\$[\w-]+$/.test(value);
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64url');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 64 * 1024 * 1024,
  });
  return timingSafeEqual(key, expected);
}

/** Constant-time string comparison (for tokens). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export interface Session {
  id: string;
  user: string;
  /** Sent back in `X-CSRF-Token` (or a form's `_csrf`) with every change. */
  csrf: string;
  expiresAtMs: number;
}

/** Sessions in memory: a monitor restart logs everyone out, which is acceptable for an admin tool. */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(readonly ttlMs: number = 12 * 3600 * 1000) {}

  create(user: string): Session {
    this.sweep();
    const session = { id: randomToken(), user, csrf: randomToken(), expiresAtMs: Date.now() + this.ttlMs };
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAtMs <= Date.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  delete(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, session] of this.sessions) if (session.expiresAtMs <= now) this.sessions.delete(id);
  }
}

export interface LoginThrottleOptions {
  /** Failed attempts per key (client address, user name) within the window before refusing. (Default: 10) */
  maxFailures?: number;
  /** (Default: 15 min) */
  windowMs?: number;
  /** Added to every failed attempt's answer, doubled per recent failure up to 8×. (Default: 500 ms) */
  failureDelayMs?: number;
}

/**
 * Slows down failed log-ins and refuses more once a client or a user name failed too often in the
 * window, so guessing a password costs hours, not seconds.
 */
export class LoginThrottle {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly failureDelayMs: number;
  private readonly failures = new Map<string, number[]>();

  constructor(options: LoginThrottleOptions = {}) {
    this.maxFailures = options.maxFailures ?? 10;
    this.windowMs = options.windowMs ?? 15 * 60 * 1000;
    this.failureDelayMs = options.failureDelayMs ?? 500;
  }

  /** Seconds until the keys may try again, or 0 when they may now. */
  retryAfterSeconds(keys: readonly string[]): number {
    const now = Date.now();
    let wait = 0;
    for (const key of keys) {
      const recent = this.recent(key, now);
      if (recent.length >= this.maxFailures) wait = Math.max(wait, (recent[0]! + this.windowMs - now) / 1000);
    }
    return Math.ceil(wait);
  }

  /** Records a failure; returns how long to stall the answer. */
  fail(keys: readonly string[]): number {
    const now = Date.now();
    let worst = 0;
    for (const key of keys) {
      const recent = this.recent(key, now);
      recent.push(now);
      // Re-inserted so the Map's order is recency: the eviction below drops the stalest keys.
      this.failures.delete(key);
      this.failures.set(key, recent);
      worst = Math.max(worst, recent.length);
    }
    while (this.failures.size > 10_000) {
      const stalest = this.failures.keys().next().value;
      if (stalest === undefined) break;
      this.failures.delete(stalest);
    }
    return this.failureDelayMs * Math.min(8, 2 ** Math.max(0, worst - 1));
  }

  succeed(keys: readonly string[]): void {
    for (const key of keys) this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs);
  }
}
