"""Worker pools: where notebooks run. Both only execute and return outputs; neither touches the gradebook.

- ``LocalPool(n)``: n warm executors (``autograder.sandbox.Executor``) on this machine, one thread
  each in the coordinating process feeding it jobs.
- ``DaskPool(address)``: a Dask distributed scheduler; each Dask worker thread keeps its own warm
  executor (started on first use, on the worker's machine, in its own sandbox) and returns the
  outputs to the coordinator through Dask.

A pool's ``run(jobs)`` yields ``(key, reply)`` as notebooks finish, in any order. A worker that
fails (dies, answers out of turn, cannot build a notebook's sandbox) is replaced and the
notebook is run again on the fresh one (``run_job``): a failure of the grader is never a
student's grade. Only when the same notebook breaks a freshly started worker too is it that
notebook's failure, recorded with the reason. A worker that cannot start at all is reported as
the grader's failure (``infra``), which the next run grades again.
"""

from __future__ import annotations

import os
import queue
import threading
import uuid
from collections.abc import Iterable, Iterator

from .limits import PER_PROCESS
from .sandbox import Executor


def run_job(ex: Executor, job: dict) -> dict:
    """One notebook on ``ex``, and once more on a fresh worker if the worker failed."""
    reply = ex.run(job)
    if not reply.get("infra"):
        return reply
    first = reply.get("reason", "")
    reply = ex.run(job)  # ex.run starts a new worker: the failed one was stopped
    if not reply.get("infra"):
        return reply
    if reply.get("started"):
        return {"status": "died", "cells": [], "reason": "the notebook broke the grading worker twice, "
                f"the second time a fresh one ({first}; then {reply.get('reason', '')})"}
    return reply


class LocalPool:
    """n executors, each owned by one long-lived thread (bwrap's --die-with-parent follows the
    thread that started it, so the thread that starts an executor is the one that drives it)."""

    def __init__(self, workers: int, sandbox: str, log_dir: str | None = None):
        self.workers = max(1, int(workers))
        self.sandbox = sandbox
        self.todo: queue.Queue = queue.Queue()
        self.done: queue.Queue = queue.Queue()
        self.executors = [Executor(sandbox, os.path.join(log_dir, f"worker-{i}.log") if log_dir else None,
                                   slot=str(i)) for i in range(self.workers)]
        self.threads = [threading.Thread(target=self._work, args=(ex,), daemon=True) for ex in self.executors]
        for t in self.threads:
            t.start()

    @property
    def limits(self) -> str:
        kinds = sorted({ex.limits_kind for ex in self.executors if ex.limits_kind})
        return ", ".join(kinds) if kinds else PER_PROCESS

    def _work(self, ex: Executor) -> None:
        try:
            try:
                ex.start()  # warm up while the coordinator prepares the notebooks
            except Exception:  # noqa: BLE001 - the first job tries again, and reports it
                ex.stop()
            while True:
                item = self.todo.get()
                if item is None:
                    return
                key, job = item
                try:
                    reply = run_job(ex, job)
                except Exception as exc:  # noqa: BLE001 - a bug in the grader: its failure, not the student's
                    ex.stop()
                    reply = {"status": "error", "infra": True, "cells": [],
                             "reason": f"the grading worker failed: {type(exc).__name__}: {exc}"}
                self.done.put((key, reply))
        finally:
            ex.stop()

    def run(self, jobs: Iterable[tuple[str, dict]]) -> Iterator[tuple[str, dict]]:
        count = 0
        for item in jobs:
            self.todo.put(item)
            count += 1
        for _ in range(count):
            yield self.done.get()

    def close(self) -> None:
        for _ in self.threads:
            self.todo.put(None)
        for t in self.threads:
            t.join(timeout=60)


_local = threading.local()


def run_on_dask_worker(job: dict, sandbox: str) -> dict:
    """The task a Dask worker runs: its thread's warm executor executes one notebook."""
    ex = getattr(_local, "executor", None)
    if ex is None or ex.sandbox != sandbox:
        ex = _local.executor = Executor(sandbox, slot=f"dask{threading.get_ident()}")
    return run_job(ex, job)


class DaskPool:
    limits = "set on each Dask worker's machine"

    def __init__(self, address: str, sandbox: str):
        from distributed import Client

        self.sandbox = sandbox
        self.client = Client(address, timeout="30s")

    def run(self, jobs: Iterable[tuple[str, dict]]) -> Iterator[tuple[str, dict]]:
        from distributed import as_completed

        futures = {}
        for key, job in jobs:
            name = f"autograde-{key.replace(chr(0), '-')}-{uuid.uuid4().hex[:8]}"
            fut = self.client.submit(run_on_dask_worker, job, self.sandbox, pure=False, key=name)
            futures[fut] = key
        for fut in as_completed(futures):
            key = futures[fut]
            try:
                reply = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost Dask worker: the grader's failure
                reply = {"status": "error", "infra": True, "cells": [],
                         "reason": f"the Dask worker failed: {type(exc).__name__}: {exc}"}
            yield key, reply

    def close(self) -> None:
        self.client.close()
