import { SERVICES } from '../helpers/services.ts';

/** A database of its own on the shared Redis; every key is a fresh task id and is deleted after. */
export const REDIS_BACKEND_URL = `redis://${SERVICES.redis.host}:${SERVICES.redis.port}/13`;
