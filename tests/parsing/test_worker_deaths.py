"""Work whose worker died, given again one item at a time (triage/parsing/worker_deaths.py): the item that kills its
worker is named, the others done, and past MAX_DEATHS no worker is started again. The workers are real processes
of the photos' fork server; an item "dies" kills its worker with SIGSEGV, as a crashing decoder does."""

from __future__ import annotations

import os
import signal
from concurrent.futures import BrokenExecutor

import pytest

from triage.parsing import worker_deaths
from triage.parsing.parallel import start_pool
from triage.parsing.worker_deaths import Alone, Deaths, Died, Pools


def doubled_or_dead(items: list) -> list:
    """Worker side: each item doubled; an item "dies" kills the worker."""
    if "dies" in items:
        os.kill(os.getpid(), signal.SIGSEGV)
    return [item * 2 for item in items]


def test_a_batch_whose_worker_dies_is_done_again_item_by_item():
    deaths = Deaths()
    alone = Alone(lambda: start_pool(1), deaths)
    try:
        assert alone.call_each(doubled_or_dead, [1, 2]) == [2, 4]
        done = alone.call_each(doubled_or_dead, [1, "dies", 3])
        assert done == [2, Died("killed by signal SIGSEGV"), 6]  # the batch's death, then the item's own
        assert deaths.count == 2
        assert alone.call(doubled_or_dead, 5) == 10  # a new worker after the deaths
    finally:
        alone.close()


def test_past_the_limit_no_worker_is_started(monkeypatch):
    monkeypatch.setattr(worker_deaths, "MAX_DEATHS", 2)
    started = []

    def start():
        started.append(1)
        return start_pool(1)

    alone = Alone(start, Deaths())
    try:
        assert alone.call(doubled_or_dead, "dies") == Died("killed by signal SIGSEGV")
        assert alone.call(doubled_or_dead, "dies") == Died("killed by signal SIGSEGV")
        given_up = alone.call(doubled_or_dead, 1)
        assert isinstance(given_up, Died) and not given_up.tried and "workers died 2 times" in given_up.why
        assert len(started) == 2
    finally:
        alone.close()


def test_no_worker_to_be_had_is_said_not_retried():
    alone = Alone(lambda: None, Deaths())
    assert alone.call(doubled_or_dead, 1) == Died("no worker process could be started to give it to", False)
    assert alone.unavailable


def test_a_broken_pool_is_replaced_once_for_all_its_batches():
    deaths = Deaths()
    first = start_pool(1)
    assert first is not None
    pools = Pools(first, lambda: start_pool(1), deaths)
    try:
        lost = [pools.submit(doubled_or_dead, ["dies"]), pools.submit(doubled_or_dead, [1])]
        for future in lost:
            with pytest.raises(BrokenExecutor):
                future.result()
            pools.died(future)  # every batch of the dead pool says so: one death
        assert deaths.count == 1 and pools.current is None and not pools.gone
        assert pools.submit(doubled_or_dead, [4]).result() == [8]  # a new pool
        assert pools.current is not None and pools.current is not first
    finally:
        pools.close()
        first.shutdown()
