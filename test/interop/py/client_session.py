"""A long-lived Python Celery client the interop tests drive over stdin/stdout.

Each request is one JSON line: {"id": n, "code": "<python>"}. The code runs in a namespace kept
for the whole session (so an rpc:// client reads its own replies) holding `app`, `add` and the
other stubs of interop_app, `wire_probe`, `outcome` and `watch_states` (client_helpers), plus
`celery`, `kombu`, `json`, `time`. An expression's value is the answer; for statements, the code
assigns `result`. Each answer is one JSON line on stdout:
  {"id": n, "ok": true, "value": ...}
  {"id": n, "ok": false, "exc_type": "ValueError", "exc_module": "builtins", "message": "bad", "repr": "..."}
Anything else the code prints goes to stderr so it cannot corrupt the answer stream.
"""

import json
import sys
import time
import traceback

import celery
import kombu

import client_helpers
import interop_app
import wire_probe

answers = sys.stdout
sys.stdout = sys.stderr

namespace = {
    'app': interop_app.app,
    'add': interop_app.add,
    'fail': interop_app.fail,
    'interop_app': interop_app,
    'wire_probe': wire_probe,
    'outcome': client_helpers.outcome,
    'watch_states': client_helpers.watch_states,
    'celery': celery,
    'kombu': kombu,
    'json': json,
    'time': time,
}


def run(code):
    namespace.pop('result', None)
    try:
        compiled = compile(code, '<interop>', 'eval')
    except SyntaxError:
        exec(compile(code, '<interop>', 'exec'), namespace)
        return namespace.get('result')
    return eval(compiled, namespace)


def answer(payload):
    answers.write(json.dumps(payload, default=repr) + '\n')
    answers.flush()


answer({'id': 0, 'ok': True, 'value': 'ready'})
for line in sys.stdin:
    if not line.strip():
        continue
    request = json.loads(line)
    try:
        answer({'id': request['id'], 'ok': True, 'value': run(request['code'])})
    except BaseException as exc:  # the test wants to see every failure, including SystemExit
        answer({
            'id': request['id'],
            'ok': False,
            'exc_type': type(exc).__qualname__,
            'exc_module': type(exc).__module__,
            'message': str(exc),
            'args': [a if isinstance(a, (str, int, float, bool, type(None))) else repr(a) for a in exc.args],
            'repr': repr(exc),
            'traceback': traceback.format_exc(),
        })
