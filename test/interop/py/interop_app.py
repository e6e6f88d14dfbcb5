"""Python Celery 5.2 peer for the interop tests (test/interop/*.test.ts).

One module serves as the worker app (`celery -A interop_app worker`) and as the client app
(imported by client_session.py). Everything a test file varies comes from the environment, so
each file runs its own worker on its own queue without touching the others:

  INTEROP_BROKER       broker URL (default: local RabbitMQ)
  INTEROP_BACKEND      result backend URL (default: rpc://)
  INTEROP_QUEUE        task_default_queue: where clients send and the worker consumes
  INTEROP_RETRY_QUEUE  where tasks.retry_elsewhere sends its retry (a queue a Celeriac worker reads)
"""

import os
import time
from datetime import datetime, timezone

from celery import Celery

BROKER = os.environ.get('INTEROP_BROKER', 'amqp://guest:guest@127.0.0.1:5672//')
BACKEND = os.environ.get('INTEROP_BACKEND', 'rpc://')
QUEUE = os.environ.get('INTEROP_QUEUE', 'celery')
RETRY_QUEUE = os.environ.get('INTEROP_RETRY_QUEUE') or QUEUE

app = Celery('interop_app', broker=BROKER, backend=BACKEND)
app.conf.update(
    task_default_queue=QUEUE,
    task_serializer='json',
    result_serializer='json',
    accept_content=['json'],
    # Short-lived results: the tests read them within seconds.
    result_expires=600,
    worker_prefetch_multiplier=1,
    broker_connection_max_retries=3,
    # These tests are about task messages: other suites on the shared broker broadcast remote-control
    # commands (some malformed on purpose), which a pidbox-enabled worker would log as warnings.
    worker_enable_remote_control=False,
)


@app.task(name='tasks.add')
def add(x, y):
    return x + y


@app.task(name='tasks.fail')
def fail():
    raise ValueError('bad')


@app.task(name='tasks.echo_request', bind=True)
def echo_request(self, *args, **kwargs):
    """Returns what the worker understood of the message, so a test can check headers arrived."""
    req = self.request
    return {
        'args': list(args),
        'kwargs': kwargs,
        'retries': req.retries,
        'eta': req.eta,
        'root_id': req.root_id,
        'parent_id': req.parent_id,
        'reply_to': req.reply_to,
        'correlation_id': req.correlation_id,
        'origin': req.origin,
        'ran_at': time.time(),
    }


@app.task(name='tasks.retry_elsewhere', bind=True, max_retries=3)
def retry_elsewhere(self, started_at=None):
    """First run retries in 2 s onto RETRY_QUEUE (a Celeriac worker); Celeriac runs the retry."""
    if self.request.retries == 0:
        # The retry keeps the task id; kwargs carry when the first run happened.
        raise self.retry(countdown=2, queue=RETRY_QUEUE, kwargs={'started_at': time.time()})
    return {'ran_by': 'python', 'retries': self.request.retries, 'eta': self.request.eta, 'started_at': started_at}


@app.task(name='tasks.report_retry', bind=True)
def report_retry(self, started_at=None):
    """Runs the retry a Celeriac task sent here: reports the retries and eta headers and the time."""
    return {
        'ran_by': 'python',
        'retries': self.request.retries,
        'eta': self.request.eta,
        'started_at': started_at,
        'ran_at': time.time(),
        'now_iso': datetime.now(timezone.utc).isoformat(),
    }
