"""Worker pools: where notebooks run. Both only execute and return outputs; neither touches the gradebook.

- ``LocalPool(n)``: n warm executors (``autograder.sandbox.Executor``) on this machine, one thread
  each in the coordinating process feeding it jobs.
- ``DaskPool(address)``: a Dask distributed scheduler; each Dask worker thread keeps its own warm
  executor (started on first use, on the worker's machine, in its own sandbox) and returns the
  outputs to the coordinator through Dask.

A pool's ``run(jobs)`` yields ``(key, reply)`` as notebooks finish, in any order.
"""

from __future__ import annotations

import os
import queue
import threading
import uuid
from collections.abc import Iterable, Iterator

from .sandbox import Executor


class LocalPool:
    """n executors, each owned by one long-lived thread (bwrap's --die-with-parent follows the
    thread that started it, so the thread that starts an executor is the one that drives it)."""

    def __init__(self, workers: int, sandbox: str, log_dir: str | None = None):
        self.workers = max(1, int(workers))
        self.sandbox = sandbox
        self.todo: queue.Queue = queue.Queue()
        self.done: queue.Queue = queue.Queue()
        self.ready: queue.Queue = queue.Queue()
        self.executors = [Executor(sandbox, os.path.join(log_dir, f"worker-{i}.log") if log_dir else None)
                          for i in range(self.workers)]
        self.threads = [threading.Thread(target=self._work, args=(ex,), daemon=True) for ex in self.executors]
        for t in self.threads:
            t.start()

    def _work(self, ex: Executor) -> None:
        try:
            ex.start()
            self.ready.put(None)
        except BaseException as exc:  # noqa: BLE001 - reported by run(); jobs go to the other workers
            self.ready.put(exc)
            return
        try:
            while True:
                item = self.todo.get()
                if item is None:
                    return
                key, job = item
                try:
                    reply = ex.run(job)
                except BaseException as exc:  # noqa: BLE001 - a worker failure costs one notebook
                    reply = {"status": "error", "cells": [], "reason": f"the grading worker failed: {exc}"}
                self.done.put((key, reply))
        finally:
            ex.stop()

    def run(self, jobs: Iterable[tuple[str, dict]]) -> Iterator[tuple[str, dict]]:
        errors = [e for e in (self.ready.get() for _ in self.threads) if e is not None]
        for e in errors:
            self.ready.put(e)
        if len(errors) == len(self.threads):
            raise RuntimeError(f"no grading worker could start: {errors[0]}")
        for _ in range(len(self.threads) - len(errors)):
            self.ready.put(None)  # run() may be called again
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
            t.join(timeout=30)


_local = threading.local()


def run_on_dask_worker(job: dict, sandbox: str) -> dict:
    """The task a Dask worker runs: its thread's warm executor executes one notebook."""
    ex = getattr(_local, "executor", None)
    if ex is None or ex.sandbox != sandbox:
        ex = _local.executor = Executor(sandbox)
    return ex.run(job)


class DaskPool:
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
            except Exception as exc:  # noqa: BLE001 - a lost worker costs one notebook, reported
                reply = {"status": "error", "cells": [], "reason": f"the Dask worker failed: {exc}"}
            yield key, reply

    def close(self) -> None:
        self.client.close()
