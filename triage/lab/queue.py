"""The Celery application of the lab: Redis as broker, one queue, late acknowledgement.

A device is a long job (minutes to hours) on one worker: the message is acknowledged only when the job
ends (acks_late), a worker takes one message at a time (prefetch 1), and a job whose worker process is
lost goes back to the queue (task_reject_on_worker_lost). When a whole worker machine dies, Redis gives
its unacknowledged message to another worker after the visibility timeout; the job table's heartbeat
(triage/lab/examine.py) keeps that second delivery from starting a device that is still being examined.
There is no result backend: a job's state is in the lab database (triage/lab/jobs.py).
"""

from __future__ import annotations

import os

from celery import Celery

QUEUE = "triage"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
# seconds before Redis hands an unacknowledged message to another worker (a dead machine's device)
DEFAULT_VISIBILITY_TIMEOUT = 900

app = Celery("triage")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue=QUEUE,
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    include=["triage.lab.tasks"],
)


def broker_url(given: str | None = None) -> str:
    """--broker, else $TRIAGE_BROKER, else Redis on this machine."""
    return given or os.environ.get("TRIAGE_BROKER") or DEFAULT_BROKER


def visibility_timeout() -> int:
    return int(os.environ.get("TRIAGE_LAB_VISIBILITY_TIMEOUT", DEFAULT_VISIBILITY_TIMEOUT))


def configure(broker: str | None = None) -> Celery:
    """The app pointed at the broker (submit, worker and status all call this first)."""
    app.conf.broker_url = broker_url(broker)
    timeout = visibility_timeout()
    # every live worker sweeps Redis for messages held past the timeout by a worker that is gone; by default
    # only every 100 s, so the sweep is tied to the timeout here (a fifth of it, at most every 30 s)
    app.conf.broker_transport_options = {
        "visibility_timeout": timeout,
        "unacked_restore_throttle": 1,
        "unacked_restore_interval": max(1, min(30, timeout // 5)),
    }
    return app
