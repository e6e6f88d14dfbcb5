"""The Python side of the pool benchmark (bench/scenarios/pools.ts): bench_app's app and no-op
tasks plus `bench.hash`, the same chained sha256 as bench/workers/pool-tasks.ts. Run as
`python3 -m celery -A bench_pools worker -P prefork -c 2 -Q <queue>`."""
import hashlib

from bench_app import app  # noqa: F401  (celery -A finds `app` here)

HASH_ROUNDS = 5000


@app.task(name="bench.hash", ignore_result=True)
def chained_sha256(rounds=HASH_ROUNDS):
    buf = bytearray(64)
    for _ in range(rounds):
        buf[:32] = hashlib.sha256(buf).digest()
    return bytes(buf[:8]).hex()
