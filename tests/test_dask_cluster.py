"""The test cluster itself: Dask's own commands on 127.0.0.1, two workers,
each in its own process, running the rtdeclip installed here.  (Only
library functions are sent: workers cannot import the test modules.)"""
import importlib.util
import os


def test_two_workers_on_loopback(dask_scheduler):
    from distributed import Client
    assert dask_scheduler.startswith("tcp://127.0.0.1:")
    with Client(dask_scheduler, timeout=30, set_as_default=False) as client:
        workers = client.scheduler_info(n_workers=-1)["workers"]
        assert len(workers) == 2
        assert all(a.startswith("tcp://127.0.0.1:") for a in workers)
        pids = {client.submit(os.getpid, workers=[w], pure=False).result(timeout=60)
                for w in workers}
        spec = client.submit(importlib.util.find_spec, "rtdeclip", pure=False).result(timeout=60)
    assert len(pids) == 2 and os.getpid() not in pids
    assert spec.origin == importlib.util.find_spec("rtdeclip").origin
