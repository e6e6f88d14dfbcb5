import { describe, expect, it } from 'vitest';
import { decodeTaskMessage } from '../../src/protocol/codec.ts';
import { Task } from '../../src/task/task.ts';
import { Celeriac } from '../../src/app/celeriac.ts';
import type { Delivery } from '../../src/transports/transport.ts';
import { Request } from '../../src/worker/request.ts';
import { buildRetryMessage, retryRoute } from '../../src/worker/retry.ts';
import { taskMessage } from './helpers.ts';

function requestFor(exchange: string, routingKey: string): Request {
  const { message } = taskMessage(
    't.x',
    [1, 2],
    { k: 'v' },
    {
      parentId: 'parent',
      rootId: 'root',
      groupId: 'group',
      groupIndex: 3,
      timeLimit: 30,
      softTimeLimit: 20,
      headers: { custom: 'kept' },
      expires: 3600,
      replyTo: 'reply-here',
      chain: [
        {
          task: 't.next',
          args: [],
          kwargs: {},
          options: { task_id: 'n1' },
          subtask_type: null,
          immutable: false,
        },
      ],
      link: [{ task: 't.cb', args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false }],
    },
  );
  message.properties.priority = 7;
  const delivery: Delivery = {
    message,
    exchange,
    routingKey,
    redelivered: false,
    ack: () => undefined,
    reject: () => undefined,
  };
  return new Request(
    decodeTaskMessage(message),
    delivery,
    new Task<never[], unknown>(new Celeriac(), 't.x', () => undefined),
  );
}

describe('retry message (celery/app/task.py signature_from_request)', () => {
  it('keeps id, lineage, group, time limits, origin, custom headers, embed, reply_to and priority', () => {
    const request = requestFor('', 'celery');
    const now = Date.now();
    const raw = buildRetryMessage(request, {}, now + 5000, now);
    const again = decodeTaskMessage(raw);
    const before = request.headers;
    expect(again.headers).toEqual({ ...before, retries: 1, eta: again.headers.eta });
    expect(Date.parse(again.headers.eta!)).toBe(now + 5000);
    expect(again.embed).toEqual(request.message.embed);
    expect(again.args).toEqual([1, 2]);
    expect(again.kwargs).toEqual({ k: 'v' });
    expect(raw.properties).toMatchObject({ replyTo: 'reply-here', priority: 7, correlationId: before.id });
    expect(Number(raw.properties.expiration)).toBeGreaterThan(3_590_000);
  });

  it('replaces args and kwargs (and their reprs) when given', () => {
    const request = requestFor('', 'celery');
    const again = decodeTaskMessage(
      buildRetryMessage(request, { args: [9], kwargs: {}, priority: 1 }, Date.now(), Date.now()),
    );
    expect(again.args).toEqual([9]);
    expect(again.headers).toMatchObject({ argsrepr: '(9,)', kwargsrepr: '{}' });
    expect(again.priority).toBe(1);
  });

  it('routes to the queue for the default exchange, else to the same exchange and key, or to a named queue', () => {
    expect(retryRoute(requestFor('', 'celery'), undefined)).toEqual({ exchange: '', routingKey: 'celery' });
    expect(retryRoute(requestFor('media', 'video.encode'), undefined)).toEqual({
      exchange: 'media',
      routingKey: 'video.encode',
    });
    expect(retryRoute(requestFor('media', 'video.encode'), 'slow')).toEqual({
      exchange: '',
      routingKey: 'slow',
    });
  });
});
