"""The dashboard's garbage-collection policy and its one-message patches, on literal
documents (no server)."""

from __future__ import annotations

import asyncio
import gc
import weakref

from bokeh.document import Document
from bokeh.models import ColumnDataSource, Div

from bokeh_server import patches
from bokeh_server.collector import Collector


class Node:
    """An object in a reference cycle, like a closed session's document."""

    def __init__(self) -> None:
        self.me = self


def test_frozen_cycles_live_until_the_compaction_a_closing_schedules():
    collector = Collector(compact_after=0.05)
    node = Node()
    ref = weakref.ref(node)
    try:
        collector.session_built()
        del node
        gc.collect()
        assert ref() is not None  # frozen: full collections skip it

        async def close_and_wait() -> None:
            collector.session_closed()
            collector.session_closed()  # a second closing moves the one compaction later
            await asyncio.sleep(0.3)

        asyncio.run(close_and_wait())
        assert ref() is None
        assert collector._timeout is None
    finally:
        gc.unfreeze()


def test_batched_changes_reach_plain_change_callbacks_one_by_one_after_the_block():
    doc = Document()
    source = ColumnDataSource(data={"x": [1]})
    div = Div(text="a")
    doc.add_root(div)
    doc.add_root(source)
    seen: list[str] = []
    doc.on_change(lambda event: seen.append(type(event).__name__))
    with patches.batched(doc):
        source.data = {"x": [2]}
        div.text = "b"
        assert seen == []  # held until the block ends
    assert seen == ["ColumnDataChangedEvent", "ModelChangedEvent"]
    assert source.data["x"] == [2] and div.text == "b"
    div.text = "c"  # no hold left behind
    assert seen[-1] == "ModelChangedEvent" and len(seen) == 3
