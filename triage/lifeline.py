"""A run's second processes end when the run ends, however it ends.

A run killed outright (SIGKILL, the kernel out of memory, a kiosk switched off mid-run) runs no clean-up of its
own. Its forks (triage/forked_job.py, triage/run/database_forks.py) went on with their job meanwhile, writing pages
into the dead run's folder; a photo worker waited forever on its queue (it holds that pipe's writing end itself, so
it never sees an end), and kept the pool's fork server and resource tracker alive with it: three processes left
behind per run killed. Each of them now watches the run's process (a Linux pidfd, which names that process and not
a number another may reuse) and exits the moment it ends.
"""

from __future__ import annotations

import os
import select
import threading


def exit_with(pid: int) -> None:
    """From now on, this process exits (at once, status 1, no clean-up: the run that wanted its work is gone) when
    process `pid` ends. Without pidfds (not Linux, or a kernel before 5.3) it is left as it was."""
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is None:
        return
    try:
        watched = pidfd_open(pid)
    except ProcessLookupError:  # already gone
        os._exit(1)
    except OSError:  # no pidfd here (an old kernel, a sandbox refusing the call): left as it was
        return
    threading.Thread(target=_exit_once_readable, args=(watched,), name="exit-with-run", daemon=True).start()


def _exit_once_readable(pidfd: int) -> None:
    select.select([pidfd], [], [])  # a pidfd is readable once its process has ended
    os._exit(1)
