import type { Celeriac } from '../app/celeriac.ts';
import { decodeTaskMessage } from '../protocol/codec.ts';
import { checkTaskMessageSize } from '../protocol/size-limits.ts';
import type { TaskMessage } from '../protocol/types.ts';
import { toExceptionInfo } from '../result/exceptions.ts';
import { States } from '../result/states.ts';
import { NotRegistered } from '../task/errors.ts';
import { Task } from '../task/task.ts';
import type { Delivery, Transport } from '../transports/transport.ts';
import type { Logger } from '../util/logger.ts';
import { EtaSchedule } from './eta-schedule.ts';
import { deadLetter } from './dead-letter.ts';
import { excRepr } from './exc-repr.ts';
import type { WorkerEvents } from './events.ts';
import { Request } from './request.ts';
import type { ResultStore } from './result-store.ts';
import type { RevokedSet } from './revoked-set.ts';
import type { TaskRunner } from './task-runner.ts';
import { outsideAnyTask } from '../canvas/parent-task.ts';

export interface MessageIntakeDeps {
  app: Celeriac;
  events: WorkerEvents;
  revoked: RevokedSet;
  logger: Logger;
  /** The runner while the worker is running; undefined before and during shutdown. */
  runner: () => TaskRunner | undefined;
  transport: () => Transport | undefined;
  store: () => ResultStore | undefined;
  /** The number of held ETA messages changed (the prefetch window follows it). */
  heldChanged: () => void;
}

/**
 * What the worker does with each delivery before a pool slot (celery/worker/strategy.py):
 * decode, look the task up, announce task-received, settle revoked and expired requests at once,
 * hold or park ETAs, submit the rest. Bad messages are rejected with a clear log line.
 */
export class MessageIntake {
  /** Messages held in memory until their ETA. */
  readonly held: EtaSchedule<Request>;
  /** Messages that could not be decoded or named an unknown task. */
  invalidCount = 0;

  constructor(private readonly deps: MessageIntakeDeps) {
    this.held = new EtaSchedule<Request>((request) => this.releaseHeld(request));
  }

  /** Outside any task's context: a connection first opened inside a task body would carry it here. */
  readonly onDelivery = (delivery: Delivery): void => outsideAnyTask(this.deliver, delivery);

  private readonly deliver = (delivery: Delivery): void => {
    const runner = this.deps.runner();
    if (!runner) {
      delivery.reject(true);
      return;
    }
    let message: TaskMessage;
    try {
      const maxBytes = this.deps.app.conf.taskMessageMaxBytes;
      checkTaskMessageSize(delivery.message, maxBytes);
      message = decodeTaskMessage(delivery.message, { maxBytes });
    } catch (error) {
      return this.rejectInvalid(delivery, error);
    }
    const task = this.deps.app.tasks.get(message.headers.task);
    if (!task) return this.rejectUnknown(delivery, message);
    const request = new Request(message, delivery, task);
    const { events } = this.deps;
    if (events.wants('task-received')) {
      const h = message.headers;
      events.emit('task-received', {
        uuid: request.id,
        name: request.name,
        args: h.argsrepr,
        kwargs: h.kwargsrepr,
        root_id: h.root_id,
        parent_id: h.parent_id,
        retries: h.retries,
        eta: h.eta,
        expires: h.expires,
      });
    }
    const now = Date.now();
    // Revoked or expired on receipt: settled now, without waiting for a pool slot (celery/worker/strategy.py).
    if (this.deps.revoked.has(request.id)) return runner.discard(request, 'revoked');
    if (request.isExpired(now)) return runner.discard(request, 'expired');
    if (request.etaMs > now) return this.schedule(request, now);
    runner.submit(request);
  };

  /** An ETA in the future: hold it (near) or park it in the broker (far; the celery#6760 fix). */
  private schedule(request: Request, now: number): void {
    const transport = this.deps.transport()!;
    const { logger } = this.deps;
    if (
      request.etaMs - now > this.deps.app.conf.etaParkAfterMs &&
      transport.capabilities.delayedRedelivery &&
      transport.redeliverAt
    ) {
      request.settled = true; // the transport acks it once the parked copy is safe
      transport.redeliverAt(request.delivery, request.etaMs).then(
        () =>
          logger.debug(
            { taskId: request.id, eta: request.headers.eta },
            `parked ${request.name}[${request.id}] in the broker until its ETA`,
          ),
        (error: unknown) => {
          logger.warn(
            { err: error, taskId: request.id },
            `could not park ${request.name}[${request.id}] in the broker; holding it in memory`,
          );
          request.settled = false;
          if (this.deps.runner()) this.hold(request);
          else request.reject(true);
        },
      );
      return;
    }
    this.hold(request);
  }

  private hold(request: Request): void {
    this.held.add(request.etaMs, request);
    this.deps.logger.debug(
      { taskId: request.id, eta: request.headers.eta },
      `holding ${request.name}[${request.id}] until its ETA`,
    );
    this.deps.heldChanged();
  }

  private releaseHeld(request: Request): void {
    this.deps.heldChanged();
    const runner = this.deps.runner();
    if (!runner) return request.reject(true);
    runner.submit(request);
  }

  private rejectInvalid(delivery: Delivery, error: unknown): void {
    this.invalidCount++;
    const reason = `invalid message: ${(error as Error)?.message ?? String(error)}`;
    deadLetter(this.deps.transport(), delivery, reason, this.deps.logger);
    const props = delivery.message.properties;
    const id =
      (typeof props.headers?.id === 'string' && props.headers.id) || props.correlationId || 'unknown';
    this.deps.logger.error(
      { messageId: id, queue: delivery.routingKey, err: error },
      `rejected invalid message ${id} from ${delivery.exchange || '(default exchange)'}/${delivery.routingKey}: ${(error as Error)?.message ?? error}`,
    );
  }

  /** Unknown task name: reject, then store FAILURE NotRegistered as Celery does (§1.6). */
  private rejectUnknown(delivery: Delivery, message: TaskMessage): void {
    this.invalidCount++;
    const name = message.headers.task;
    deadLetter(
      this.deps.transport(),
      delivery,
      `unregistered task ${JSON.stringify(name)}`,
      this.deps.logger,
    );
    this.deps.logger.error(
      { taskId: message.headers.id, task: name },
      `Received unregistered task of type ${JSON.stringify(name)}. The message has been rejected; is the module that registers it imported by the worker?`,
    );
    const info = toExceptionInfo(new NotRegistered(name));
    if (this.deps.events.wants('task-failed')) {
      this.deps.events.emit('task-failed', {
        uuid: message.headers.id,
        exception: excRepr(info),
        traceback: '',
      });
    }
    const request = new Request(
      message,
      delivery,
      new Task<never[], unknown>(this.deps.app, name, () => undefined),
    );
    request.settled = true;
    void this.deps.store()?.store(request, States.FAILURE, info, null);
  }
}
