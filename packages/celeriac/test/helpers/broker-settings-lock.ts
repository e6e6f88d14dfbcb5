import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOCK = join(tmpdir(), 'celeriac-test-rabbitmq-settings.lock');

/**
 * Tests that change RabbitMQ's global settings (consumer_timeout, channel_tick_interval) take this
 * lock first: two such files running at once would restore each other's settings mid-test.
 * A lock left by a dead process is taken over.
 */
export async function lockBrokerSettings(timeoutMs = 55_000): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return () => rmSync(LOCK, { recursive: true, force: true });
    } catch {
      if (holderIsDead()) rmSync(LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline)
        throw new Error(`RabbitMQ settings lock ${LOCK} still held after ${timeoutMs} ms`);
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

function holderIsDead(): boolean {
  try {
    process.kill(Number(readFileSync(join(LOCK, 'pid'), 'utf8')), 0);
    return false;
  } catch (error) {
    // ESRCH: no such process. A missing pid file means the holder is between mkdir and write.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
