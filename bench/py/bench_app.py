"""The Python side of `npm run bench`: stock Celery 5.2 with the same two no-op tasks as the
Celeriac worker (bench/workers/celeriac-worker.ts). Run by bench/lib/workers.ts as
`python3 -m celery -A bench_app worker -P prefork -c 2 -Q <queue>`."""
import os

from celery import Celery

app = Celery(
    "bench",
    broker=os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
    backend=os.environ.get("BENCH_RESULT_BACKEND") or None,
)
app.conf.update(
    # Celery's defaults, spelled out so the comparison's settings are visible in one place.
    worker_prefetch_multiplier=4,
    task_acks_late=False,
    worker_send_task_events=False,
    task_track_started=False,
    accept_content=["json"],
    result_expires=3600,
    worker_hijack_root_logger=False,
)


@app.task(name="bench.noop", ignore_result=True)
def noop(*args, **kwargs):
    return None


@app.task(name="bench.noop_result")
def noop_result(*args, **kwargs):
    return None
