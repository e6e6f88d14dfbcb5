import type { Session } from './auth.ts';

/** Who is asking: a logged-in session, an API token, or nobody checked (`--insecure-no-auth`). */
export interface Principal {
  user: string;
  via: 'session' | 'token' | 'none';
  session?: Session;
}

export interface MonitorEnv {
  Variables: { principal: Principal };
}
