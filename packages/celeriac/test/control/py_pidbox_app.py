"""A tiny Python Celery app for the remote-control interop tests (python-interop.test.ts).

The broker comes from CELERIAC_TEST_BROKER so the test picks the URL; one task so `registered`
has something to show.
"""
import os

from celery import Celery

app = Celery('py_pidbox_app', broker=os.environ.get('CELERIAC_TEST_BROKER', 'amqp://guest:guest@127.0.0.1:5672//'))
app.conf.worker_hijack_root_logger = False


@app.task(name='pytasks.mul')
def mul(x, y):
    return x * y


def ask(node):
    """What `celery inspect stats|registered|active_queues` and `celery control revoke` send, in one
    process (each `celery` command costs a Python start-up): prints the replies as JSON."""
    import json

    inspect = app.control.inspect(destination=[node], timeout=5)
    print(json.dumps({
        'stats': inspect.stats(),
        'registered': inspect.registered(),
        'active_queues': inspect.active_queues(),
        'revoke': app.control.revoke('py-revoked-1', destination=[node], reply=True, timeout=5),
    }))
