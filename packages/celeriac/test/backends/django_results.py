"""Reads and writes django-celery-results' table through Django's ORM, for sql-django.test.ts.

usage: django_results.py migrate DB | read DB TASK_ID | write DB TASK_ID
"""
import json
import sys

import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=["django_celery_results"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[2]}},
    USE_TZ=True,
    TIME_ZONE="UTC",
)
django.setup()

from django.core.management import call_command  # noqa: E402
from django_celery_results.models import TaskResult  # noqa: E402

command = sys.argv[1]
if command == "migrate":
    call_command("migrate", "django_celery_results", verbosity=0)
elif command == "read":
    r = TaskResult.objects.get(task_id=sys.argv[3])
    print(json.dumps({
        "status": r.status,
        "result": json.loads(r.result),
        "task_name": r.task_name,
        "task_args": r.task_args,
        "worker": r.worker,
        "content_type": r.content_type,
        "meta": json.loads(r.meta),
        "date_done": r.date_done.isoformat(),
        "traceback": r.traceback,
    }))
elif command == "write":
    TaskResult.objects.store_result(
        "application/json", "utf-8", sys.argv[3], json.dumps({"answer": 42}), "SUCCESS",
        meta=json.dumps({"children": []}), task_name="py.tasks.answer", worker="celery@py",
    )
