"""Feeds the celeryev stream into celery.events.state.State (what Flower builds on) for a few
seconds and prints what it learnt about one node as JSON (events python-interop.test.ts).

Usage: python3 py_state_check.py <node> <seconds>
"""
import json
import sys
import time

from py_events_app import app

node, seconds = sys.argv[1], float(sys.argv[2])
state = app.events.State()
deadline = time.monotonic() + seconds
with app.connection_for_read() as connection:
    receiver = app.events.Receiver(connection, handlers={'*': state.event})
    print('capturing', flush=True)
    try:
        for _ in receiver.itercapture(limit=None, timeout=0.5, wakeup=True):
            if time.monotonic() > deadline:
                break
    except Exception:  # socket.timeout ends the capture when the stream is idle
        pass
worker = state.workers.get(node)
print(json.dumps({
    'worker': None if worker is None else {
        'alive': worker.alive, 'sw_ident': worker.sw_ident, 'freq': worker.freq,
        'processed': worker.processed, 'active': worker.active,
    },
    'tasks': {
        uuid: {'state': task.state, 'name': task.name, 'result': task.result, 'runtime': task.runtime}
        for uuid, task in state.tasks.items() if task.worker is not None and task.worker.hostname == node
    },
}))
