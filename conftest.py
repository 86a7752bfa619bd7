"""Parallel test runs that share the machine fairly.

`python3 course.py test` runs the tests in two pytest-xdist workers when two CPUs are free.
Two PyTorch processes on the same two cores slow each other far more than twice (their
threads busy-wait), so each worker is pinned to a CPU of its own, and everything it starts
(the notebooks' kernels, JupyterLab, Chromium) inherits that CPU. `training.setup` then
finds one CPU and uses one thread: each notebook runs as it does on Binder.
"""

import os


def _pin_this_worker() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... in an xdist worker
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if not worker.startswith("gw") or count < 2 or not hasattr(os, "sched_setaffinity"):
        return
    cpus = sorted(os.sched_getaffinity(0))
    if count > len(cpus):  # more workers than CPUs: leave the sharing to the system
        return
    os.sched_setaffinity(0, {cpus[int(worker[2:]) % len(cpus)]})


def pytest_configure(config):
    _pin_this_worker()
