"""A tiny Python Celery app for the events interop tests (python-interop.test.ts).

The broker comes from CELERIAC_TEST_BROKER; one task for a prefork worker to run with -E.
"""
import os

from celery import Celery

app = Celery('py_events_app', broker=os.environ.get('CELERIAC_TEST_BROKER', 'amqp://guest:guest@127.0.0.1:5672//'))
app.conf.worker_hijack_root_logger = False
# Its own pidbox exchange, so other tests' deliberately bad broadcasts on the shared broker
# (which make a Python worker reset or exit) cannot reach it.
app.conf.control_exchange = os.environ.get('CELERIAC_TEST_CONTROL_EXCHANGE', 'celery')


@app.task(name='pyevents.mul')
def mul(x, y):
    return x * y
