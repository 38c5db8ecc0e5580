"""Where each asyncio task of a worker waits: ``kill -USR2 <pid>`` logs it.

mode's own dump (SIGUSR1) prints each task's stack down to the first async generator
it iterates and stops there ("rest of traceback truncated"): an agent's stack ends at
``await coro``, so an agent that waits for ever shows nowhere where.  Here each
task's chain of awaits is followed through coroutines, async generators (a
``stream.take_events()`` loop) and the wrappers in between, down to the future it
waits on.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from types import AsyncGeneratorType, CoroutineType, FrameType, GeneratorType
from typing import Any

from mode.worker import Worker

log = logging.getLogger(__name__)

_FRAMED = (CoroutineType, AsyncGeneratorType, GeneratorType)
_WRAPPERS = frozenset(
    ("async_generator_asend", "async_generator_athrow", "coroutine_wrapper", "FutureIter")
)
#: the longest chain followed (a cycle or a runaway chain stops there)
MAX_DEPTH = 64


def await_chain(obj: Any) -> list[str]:
    """Return where ``obj`` (a coroutine, async generator, ...) waits, outermost first.

    One line per frame (``file:line in function``); the last line names what the
    innermost frame awaits when that is not a frame of its own (a future, a task).
    """
    lines: list[str] = []
    for _ in range(MAX_DEPTH):
        frame, inner = _step(obj)
        if frame is not None:
            lines.append(_where(frame))
        elif isinstance(obj, _FRAMED):  # finished: it waits on nothing
            return lines
        elif inner is None:
            if obj is not None:
                lines.append(f"awaits {_short(obj)}")
            return lines
        obj = inner
    lines.append("...")
    return lines


def _step(obj: Any) -> tuple[FrameType | None, Any]:
    """Return ``obj``'s frame (if it has one) and what it awaits next."""
    if isinstance(obj, CoroutineType):
        return obj.cr_frame, obj.cr_await
    if isinstance(obj, AsyncGeneratorType):
        return obj.ag_frame, obj.ag_await
    if isinstance(obj, GeneratorType):
        return obj.gi_frame, obj.gi_yieldfrom
    # async_generator_asend/athrow, coroutine_wrapper and a future's iterator expose
    # what they drive only to the garbage collector
    if type(obj).__name__ in _WRAPPERS:
        driven = [
            ref for ref in gc.get_referents(obj) if isinstance(ref, (*_FRAMED, asyncio.Future))
        ]
        return None, driven[0] if driven else None
    return None, None


def _where(frame: FrameType) -> str:
    code = frame.f_code
    return f"{code.co_filename}:{frame.f_lineno} in {code.co_qualname}"


def _short(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 300 else text[:297] + "..."


def dump_tasks(loop: asyncio.AbstractEventLoop | None = None) -> int:
    """Log every task of ``loop`` with its chain of awaits; return how many."""
    tasks = asyncio.all_tasks(loop or asyncio.get_event_loop())
    for task in sorted(tasks, key=lambda t: t.get_name()):
        chain = "\n    ".join(await_chain(task.get_coro()))
        log.warning("task %s:\n    %s", task.get_name(), chain)
    log.warning("%d tasks", len(tasks))
    return len(tasks)


def install() -> None:
    """Have ``kill -USR2 <worker pid>`` log every task's chain of awaits.

    mode's worker (faust's) answers SIGUSR2 itself, from the event loop
    (``loop.add_signal_handler``, installed after the app's ``on_worker_init``), by
    starting the pdb debugger: in a worker without a terminal that logged
    ``Starting debugger...`` and a ``BdbQuit`` traceback, and no task.  Its handler
    is replaced, so the dump runs as an event-loop callback, between two steps of
    the tasks it shows.
    """
    Worker._on_sigusr2 = _on_sigusr2


def _on_sigusr2(self: Worker) -> None:
    dump_tasks(self.loop)
