"""Helpers the client snippets share: wait for a result and describe how it ended, in JSON."""

import time


def outcome(result, timeout=10):
    """Waits like a user would (`AsyncResult.get`) and reports the value or the exception raised."""
    try:
        value = result.get(timeout=timeout)
    except Exception as exc:  # the test asserts on the type, so every exception is reported
        return {
            'id': result.id,
            'state': result.state,
            'raised': type(exc).__name__,
            'module': type(exc).__module__,
            'message': str(exc),
            'args': [a if isinstance(a, (str, int, float, bool, type(None))) else repr(a) for a in exc.args],
            'is_value_error': isinstance(exc, ValueError),
        }
    return {'id': result.id, 'state': result.state, 'value': value, 'raised': None}


def watch_states(result, timeout=15, interval=0.05):
    """Polls the state until ready and returns the distinct states seen in order, then the outcome."""
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = result.state
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in ('SUCCESS', 'FAILURE', 'REVOKED'):
            break
        time.sleep(interval)
    return {'states': seen, **outcome(result, timeout=1)}
