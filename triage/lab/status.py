"""`triage status`: the messages waiting in the queue and the state of every submitted device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amqp.exceptions import ChannelError

from triage.lab.examine import lab_engine
from triage.lab.jobs import RUNNING, all_jobs, now
from triage.lab.queue import QUEUE, configure


@dataclass
class QueueDepth:
    waiting: int  # messages no worker has taken yet
    taken: int  # messages a worker holds, not acknowledged (devices being examined, retries waiting)


def queue_depth(broker: str | None = None) -> QueueDepth:
    app = configure(broker)
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        try:
            waiting = channel.queue_declare(QUEUE, passive=True).message_count
        except ChannelError:  # Redis keeps no empty list: a queue nothing was ever sent to, or one emptied
            waiting = 0
        taken = channel.client.hlen(channel.unacked_key)
    return QueueDepth(waiting, taken)


def jobs(db_url: str) -> list[dict[str, Any]]:
    lab = lab_engine(db_url)
    try:
        with lab.connect() as c:
            return all_jobs(c)
    finally:
        lab.dispose()


def job_lines(rows: list[dict[str, Any]]) -> list[str]:
    """One line per device: case, exhibit, state, attempts, where it runs or what it gave."""
    lines = []
    for r in rows:
        state = r["state"]
        if state == RUNNING and r["heartbeat_utc"] is not None:
            state += f" on {r['worker']} (heartbeat {(now() - r['heartbeat_utc']).total_seconds():.0f} s ago)"
        outcome = r["bundle"] or r["error"] or ""
        lines.append(
            f"{r['case_ref']}  {r['exhibit']}  {state}  attempts: {r['attempts']}  schema: {r['case_schema']}"
            + (f"  {outcome}" if outcome else "")
        )
    return lines
