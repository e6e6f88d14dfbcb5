"""Reads messages off a queue the way Python sees them, for wire-format checks.

`get_raw` uses kombu's py-amqp channel directly (basic_get, no consumer, no worker) and reports
every AMQP property and header with the Python type py-amqp decoded it to, so a test can tell an
int from a float and None from a missing key. `reference_message` builds the message Celery itself
would send (`app.amqp.as_task_v2`) so the two can be compared key by key.
"""

import json
from datetime import datetime, timezone

from celery.utils.iso8601 import parse_iso8601

import interop_app


def typed(value):
    return {'type': type(value).__name__, 'value': value if not isinstance(value, bytes) else value.decode()}


def get_raw(queue):
    with interop_app.app.connection_for_write() as conn:
        channel = conn.default_channel
        raw = channel.basic_get(queue=queue, no_ack=True)
        if raw is None:
            return None
        properties = dict(raw.properties)
        headers = properties.pop('application_headers', None) or {}
        body = raw.body.decode('utf-8') if isinstance(raw.body, bytes) else raw.body
        return {
            'properties': {k: typed(v) for k, v in properties.items()},
            'headers': {k: typed(v) for k, v in headers.items()},
            'header_types': {k: type(v).__name__ for k, v in headers.items()},
            'timelimit_item_types': [type(v).__name__ for v in headers.get('timelimit') or []],
            'body': json.loads(body),
            'exchange': raw.delivery_info.get('exchange'),
            'routing_key': raw.delivery_info.get('routing_key'),
            # What Celery's worker would make of the dates (celery/worker/request.py uses parse_iso8601).
            'eta_parsed': _parse(headers.get('eta')),
            'expires_parsed': _parse(headers.get('expires')),
        }


def _parse(value):
    if value is None:
        return None
    parsed = parse_iso8601(value)
    return {'aware': parsed.tzinfo is not None, 'epoch': parsed.timestamp()}


def reference_message(name, args, kwargs):
    """Headers and properties of the same call made by Celery (celery/app/amqp.py as_task_v2)."""
    app = interop_app.app
    message = app.amqp.as_task_v2('00000000-0000-0000-0000-000000000000', name, args=args, kwargs=kwargs)
    return {
        'headers': {k: type(v).__name__ for k, v in message.headers.items()},
        'properties': {k: type(v).__name__ for k, v in message.properties.items()},
    }


def now_epoch():
    return datetime.now(timezone.utc).timestamp()


def reprs(args, kwargs):
    """argsrepr/kwargsrepr as Celery writes them for a call with these arguments."""
    from celery.utils.saferepr import saferepr

    return {'argsrepr': saferepr(tuple(args), 1024), 'kwargsrepr': saferepr(kwargs, 1024)}
