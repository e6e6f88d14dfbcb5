import type { Celeriac } from '../app/celeriac.ts';
import type { Logger } from '../util/logger.ts';
import type { RevokedSet } from './revoked-set.ts';

/**
 * Mingle at start-up (celery/worker/consumer/mingle.py): broadcast `hello` with our revoked ids,
 * and take every other node's revoked ids from the replies, so a task revoked before this
 * worker started is not run by it. Never fails the start: a broker error is logged.
 * Returns the number of nodes that answered.
 */
export async function mingle(
  app: Celeriac,
  hostname: string,
  revoked: RevokedSet,
  logger: Logger,
  timeoutMs = 1_000,
): Promise<number> {
  const { ControlClient } = await import('../control/control-client.ts');
  const client = new ControlClient(app);
  try {
    const mine = Object.fromEntries(
      revoked.entries().map(([id, expiresAt]) => [id, (expiresAt - revoked.ttl) / 1000]),
    );
    const replies = await client.call('hello', { from_node: hostname, revoked: mine }, { timeoutMs });
    let nodes = 0;
    for (const reply of replies) {
      for (const [node, body] of Object.entries(reply)) {
        if (node === hostname || !body || typeof body !== 'object') continue;
        nodes++;
        const theirs = (body as { revoked?: unknown }).revoked;
        if (!theirs || typeof theirs !== 'object') continue;
        const now = Date.now();
        const entries = Array.isArray(theirs) ? theirs.map((id) => [id, now / 1000]) : Object.entries(theirs);
        for (const [id, at] of entries) {
          if (typeof id !== 'string') continue;
          const revokedAt = typeof at === 'number' && Number.isFinite(at) ? at * 1000 : now;
          revoked.restore(id, revokedAt + revoked.ttl, now);
        }
      }
    }
    logger.info(
      { nodes, revoked: revoked.size },
      nodes === 0 ? 'mingle: all alone' : `mingle: synced with ${nodes} node(s)`,
    );
    return nodes;
  } catch (error) {
    logger.warn({ err: error }, 'mingle: could not sync with other nodes; going on without');
    return 0;
  } finally {
    await client.close().catch(() => undefined);
  }
}
