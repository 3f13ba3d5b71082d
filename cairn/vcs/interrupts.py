"""Steps that Ctrl-C must not cut in two.

Moving a branch or a target and recording that it moved are one step for the
user: stopped half-way, they leave a mess to untangle by hand.  So while such
a step runs, SIGINT is ignored, by this process and by the git commands it
starts (they inherit the disposition), and the user's Ctrl-C takes effect
once it is over.  Signal dispositions belong to the main thread only.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def uninterrupted() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
