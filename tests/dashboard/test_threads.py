"""The feed's thread never touches a session's document: it hands each poll over to the
server's event loop, which schedules the refresh (why: ``Dashboard.notify``).

Built here from ``bokeh_server/main.py`` as the server builds a session (no server, no
worker: the poll finds the worker down, and a down worker's snapshot is published to
subscribers as any other).
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from pathlib import Path

from bokeh.application.handlers.script import ScriptHandler
from bokeh.document import Document

from bokeh_server import feed as feeds
from tests.dashboard.harness import free_port

MAIN = Path(__file__).resolve().parents[2] / "bokeh_server" / "main.py"


def test_the_feed_thread_changes_no_document_and_the_loop_schedules_the_refresh(tmp_path):
    options = feeds.Options(
        worker_url=f"http://127.0.0.1:{free_port()}", data_dir=tmp_path, timeout=0.5
    )
    feed = feeds.Feed(options)
    feeds.attach(None, feed)  # main.py's build() finds it as a served document's feed
    loop = asyncio.new_event_loop()
    loop_thread = threading.Thread(target=loop.run_forever, name="bokeh-loop", daemon=True)
    loop_thread.start()
    changes: list[tuple[str, str]] = []  # (event, thread that ran the doc's callbacks)

    async def build() -> Document:
        doc = Document()
        handler = ScriptHandler(filename=str(MAIN))
        handler.modify_document(doc)
        assert not handler.failed, handler.error_detail
        doc.on_change(
            lambda event: changes.append((type(event).__name__, threading.current_thread().name))
        )
        return doc

    try:
        doc = asyncio.run_coroutine_threadsafe(build(), loop).result(60)
        assert doc.get_model_by_name("revenue") is not None
        assert doc.session_callbacks == []

        feed.poll()  # from this thread, as the feed's own thread does
        assert feed.snapshot.stale_since is not None  # the worker is down: still published
        assert changes == []  # the document was not touched from here

        deadline = time.monotonic() + 10
        while not doc.session_callbacks and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(doc.session_callbacks) == 1  # the refresh, scheduled by the loop
        assert changes == [("SessionCallbackAdded", "bokeh-loop")]

        feed.poll()  # a refresh is pending: nothing more is scheduled
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0.05), loop).result(10)
        assert len(doc.session_callbacks) == 1
    finally:
        feeds.detach(None)
        feed.stop()
        loop.call_soon_threadsafe(loop.stop)
        loop_thread.join(10)
        loop.close()
        gc.unfreeze()  # main.py's build() froze everything alive (collector.py)
