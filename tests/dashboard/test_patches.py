"""The dashboard's own PATCH-DOC builder sends what Bokeh's would (bokeh_server/patches.py)."""

from __future__ import annotations

import math
from typing import Any

from bokeh.document import Document
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, Div, FactorRange
from bokeh.protocol import Protocol

from bokeh_server import patches


class Session:
    """Keeps the batches a document hands its sessions."""

    def __init__(self) -> None:
        self.batches: list[patches.PatchBatch] = []

    def _document_patched(self, batch: patches.PatchBatch) -> None:
        self.batches.append(batch)


def page() -> tuple[Document, dict[str, Any], Session]:
    """A small document shaped like the dashboard's: sources, an axis, texts, a box."""
    models = {
        "bars": ColumnDataSource(name="bars", data={"label": [], "revenue": []}),
        "rates": ColumnDataSource(name="rates", data={"t": [], "orders_per_s": []}),
        "axis": FactorRange(),
        "status": Div(name="status"),
        "box": column(Div(text="first")),
    }
    doc = Document()
    for model in models.values():
        doc.add_root(model)
    doc.models.flush_synced()  # the page has pulled the document
    session = Session()
    doc.callbacks.on_change_dispatch_to(session)
    return doc, models, session


def change(doc: Document, models: dict[str, Any], shared: patches.Shared, poll: int) -> None:
    """One refresh: new bars and factors, streamed rates, a text and a new model."""
    with patches.batched(doc, shared):
        bars = shared.get(
            "bars",
            dict,
            {
                "label": ["Oslo ‘quoted’", "Lima\n$(x)", "Rome"],
                "revenue": [10**12 + poll, math.nan, -3.5],
            },
        )
        models["axis"].factors = shared.get("factors", list, reversed(bars["label"]))
        models["bars"].data = bars
        models["rates"].stream(
            shared.get("rates", dict, {"t": [poll * 400.0], "orders_per_s": [math.inf]})
        )
        models["status"].text = f"poll {poll}"
        models["box"].children = [*models["box"].children, Div(text=f"new {poll}")]


def normalized(node: Any, ids: dict[str, str] | None = None) -> Any:
    """``node`` with model ids renamed in order of appearance (two documents differ)."""
    ids = {} if ids is None else ids
    if isinstance(node, dict):
        return {
            k: ids.setdefault(v, f"m{len(ids)}") if k == "id" else normalized(v, ids)
            for k, v in node.items()
        }
    if isinstance(node, list | tuple):
        return [normalized(v, ids) for v in node]
    return node


def test_the_message_equals_bokehs_own_for_the_same_changes() -> None:
    bokeh_doc, bokeh_models, bokeh_session = page()
    doc, models, session = page()
    for poll in (1, 2):  # the second time, the first poll's new models are known refs
        change(bokeh_doc, bokeh_models, patches.Shared(), poll)
        change(doc, models, patches.Shared(), poll)
        [theirs], [ours] = bokeh_session.batches[-1:], session.batches[-1:]
        expected = Protocol().create("PATCH-DOC", theirs.events)
        got = patches.patch_message(ours.events, ours.shared)
        assert normalized(got.content) == normalized(expected.content)
        assert got.header["msgtype"] == "PATCH-DOC" and not got.buffers
        # both leave the same models still to be sent in full
        assert len(doc.models._new_models) == len(bokeh_doc.models._new_models)
    assert len(session.batches) == 2


def test_sessions_share_one_value_and_one_encoding_per_snapshot() -> None:
    shared = patches.Shared()
    calls = []

    def bars(x: list) -> dict[str, list]:
        calls.append(x)
        return {"x": x, "y": ["a", math.nan]}

    first = shared.get("bars", bars, [1, 2])
    again = shared.get("bars", bars, [9])
    assert again is first and calls == [[1, 2]]
    assert shared.encoded(first["x"]) == [1, 2]
    assert shared.encoded(first["y"]) == ["a", {"type": "number", "value": "nan"}]
    # an equal list that is not the shared one is encoded as usual
    assert shared.encoded([1, 2]) is None
