/**
 * A private RabbitMQ node for tests that must change broker-wide settings or stop the broker: the
 * shared node on :5672 runs every other test at the same time, so it is never touched.
 *
 * The node runs from this machine's RabbitMQ install as the `rabbitmq` user, with its own node
 * name, ports, config and data under a private-instance directory; it reuses the main node's
 * epmd and Erlang cookie, so `rabbitmqctl -n <node>` reaches it. Starting takes ~4 s.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  chownTo,
  freePort,
  instanceDir,
  killPidFile,
  portOpen,
  reapStale,
  run,
  trackInstance,
  waitUntil,
} from './private-instance.ts';

export interface PrivateRabbitMQOptions {
  /**
   * `rabbit` application settings for the node's advanced.config, e.g. `{ consumer_timeout: 3000 }`
   * (integers; for settings rabbitmq.conf has no key for, such as `channel_tick_interval`).
   */
  rabbitEnv?: Record<string, number>;
}

export interface PrivateRabbitMQ {
  readonly url: string;
  readonly port: number;
  readonly nodename: string;
  /** `rabbitmqctl stop_app`: the node stays up, the broker closes every connection and refuses new ones. */
  stopApp(): Promise<void>;
  startApp(): Promise<void>;
  /** `rabbitmqctl -n <this node> ...args`, its stdout. */
  rabbitmqctl(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Every rabbitmqctl call is a short-lived Erlang node that listens on a port from 35672-35682 by
 * default: eleven, shared by every test on the machine calling rabbitmqctl at once. A wider range
 * for ours keeps a busy moment from failing our start with "could not start distribution".
 */
const CTL_ENV = { ...process.env, RABBITMQ_CTL_DIST_PORT_MIN: '35672', RABBITMQ_CTL_DIST_PORT_MAX: '35872' };

/** A start that failed because the node exited (a port taken between freePort() and its bind): retried. */
const ATTEMPTS = 3;

/** Starts a private RabbitMQ node (no plugins); see the file comment. */
export async function startPrivateRabbitMQ(options: PrivateRabbitMQOptions = {}): Promise<PrivateRabbitMQ> {
  reapStale();
  const advanced = advancedConfig(options.rabbitEnv ?? {});
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(advanced);
    } catch (error) {
      if (!(error instanceof NodeExited) || attempt >= ATTEMPTS) throw error;
    }
  }
}

function advancedConfig(env: Record<string, number>): string {
  const entries = Object.entries(env).map(([key, value]) => {
    if (!/^[a-z_]+$/.test(key)) throw new Error(`not a rabbit setting name: ${JSON.stringify(key)}`);
    if (!Number.isSafeInteger(value))
      throw new Error(`rabbit setting ${key} must be an integer, got ${value}`);
    return `{${key}, ${value}}`;
  });
  return `[{rabbit, [${entries.join(', ')}]}].\n`;
}

class NodeExited extends Error {}

async function startOnce(advanced: string): Promise<PrivateRabbitMQ> {
  const dir = instanceDir('rabbitmq', 'rabbitmq');
  const port = await freePort();
  const distPort = await freePort();
  const name = `celeriac-rmq-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const nodename = `${name}@localhost`;
  const files: Record<string, string> = {
    enabled_plugins: '[].\n',
    // Our own config file: the machine's sets listeners.tcp.local to the shared port.
    'rabbitmq.conf': `listeners.tcp.local = 127.0.0.1:${port}\n`,
    'advanced.config': advanced,
  };
  for (const [file, text] of Object.entries(files)) {
    writeFileSync(join(dir, file), text);
    chownTo(join(dir, file), 'rabbitmq');
  }
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: nodename,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
  };
  const ctl = async (...args: string[]): Promise<string> => {
    const { stdout } = await run('rabbitmqctl', ['-n', nodename, ...args], {
      timeout: 60_000,
      cwd: '/tmp',
      env: CTL_ENV,
    });
    return stdout;
  };

  // In the foreground, not -detached: a node that fails to boot (a port taken meanwhile) ends the
  // child process, so the start fails in a second instead of at a timeout. Its own process group,
  // so killNow takes the su/sh/beam chain down together.
  const output = join(dir, 'server.out');
  const out = openSync(output, 'a');
  const server = spawn('rabbitmq-server', [], {
    env,
    cwd: '/tmp',
    stdio: ['ignore', out, out],
    detached: true,
  });
  closeSync(out);
  server.unref();
  let exitCode: number | string | null | undefined;
  const gone = new AbortController(); // stops the polling below once the node has exited
  const exited = new Promise<never>((_, reject) => {
    server.once('exit', (code, signal) => {
      exitCode = code ?? signal;
      gone.abort();
      reject(
        new NodeExited(`RabbitMQ node ${nodename} exited (${exitCode}) while starting:\n${tail(output)}`),
      );
    });
  });
  exited.catch(() => undefined); // only read while starting
  const killNow = () => {
    killPidFile(join(dir, 'pid'), 'SIGKILL');
    if (server.pid && exitCode === undefined) {
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const untrack = trackInstance(killNow);

  try {
    // Polling `epmd -names` (a tiny C program) costs nothing; rabbitmqctl costs a second of CPU per call.
    await Promise.race([
      exited,
      waitUntil(
        `RabbitMQ node ${nodename} to register with epmd`,
        async () => (await run('epmd', ['-names'], { timeout: 5_000 })).stdout.includes(`name ${name} `),
        60_000,
        gone.signal,
      ),
    ]);
    await Promise.race([exited, ctl('await_startup', '--timeout', '60')]);
    // The AMQP listener is among the last boot steps: wait for it so the first connection does not race it.
    await Promise.race([
      exited,
      waitUntil(`RabbitMQ on port ${port}`, () => portOpen(port), 30_000, gone.signal),
    ]);
  } catch (error) {
    // A node whose boot failed answers await_startup with rabbit_is_not_running, then exits: give it
    // a moment, so the start is retried rather than failed.
    const failure = await Promise.race([exited, settle(10_000).then(() => error)]).catch((e: unknown) => e);
    killNow();
    untrack();
    throw failure;
  }

  return {
    url: `amqp://guest:guest@127.0.0.1:${port}//`,
    port,
    nodename,
    rabbitmqctl: ctl,
    stopApp: async () => {
      await ctl('stop_app');
    },
    startApp: async () => {
      await ctl('start_app');
      await waitUntil(`RabbitMQ on port ${port}`, () => portOpen(port), 30_000);
    },
    stop: async () => {
      await ctl('stop').catch(() => undefined);
      killNow();
      untrack();
    },
  };
}

function settle(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no output)';
  }
}
