"""Send the changes of one refresh as one ``PATCH-DOC`` message, not one per property.

Bokeh's server sends each property change of a document in a message of its own,
and builds a serializer over every synced model of the document for each message.
The dashboard's document has some 460 models and a refresh changes about 25
properties (each chart's data and factors, the totals, the status, the rates), so
with 50 sessions that fan-out took half the dashboard's CPU (py-spy: 29% in
``Serializer.__init__`` alone) and most of the update delay.

The Bokeh protocol already allows many events in one ``PATCH-DOC`` message, and
both Bokeh's JavaScript and Python clients apply them in order; only the server has
no public way to send them so.  :func:`batched` collects a document's events while
its block runs (``Document.hold("collect")``) and hands them to each session as one
:class:`PatchBatch`; :func:`install` teaches Bokeh's ``ServerConnection`` to write a
batch as a single message.  Python ``on_change`` callbacks of the changed properties
still run, as ``Document.unhold`` would run them.  Bokeh is pinned (``bokeh==3.8.2``)
because this touches its private attributes; ``tests/dashboard/test_server.py``
checks the message count and that both kinds of client show the result.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Iterator
from typing import Any

from bokeh.document import Document
from bokeh.document.callbacks import invoke_with_curdoc
from bokeh.document.events import DocumentChangedEvent, DocumentPatchedEvent
from bokeh.server.connection import ServerConnection


class PatchBatch(DocumentPatchedEvent):
    """Events of one document that a session sends together in one ``PATCH-DOC``."""

    kind = "PatchBatch"  # never on the wire: the events are sent, not the batch

    def __init__(self, document: Document, events: list[DocumentPatchedEvent]) -> None:
        super().__init__(document)
        self.events = events

    def to_serializable(self, serializer: Any) -> Any:
        """Refuse: the session sends :attr:`events` instead."""
        raise TypeError("a PatchBatch is sent as its events, never serialized itself")


_original_send = ServerConnection.send_patch_document


def _send_patch_document(self: ServerConnection, event: DocumentPatchedEvent) -> Awaitable[None]:
    if isinstance(event, PatchBatch):
        msg = self.protocol.create("PATCH-DOC", event.events)
        return self._socket.send_message(msg)
    return _original_send(self, event)


def install() -> None:
    """Let Bokeh's server connections send a :class:`PatchBatch` (idempotent)."""
    ServerConnection.send_patch_document = _send_patch_document


@contextlib.contextmanager
def batched(doc: Document) -> Iterator[None]:
    """Send every change ``doc`` gets inside the block as one message per connection.

    Inside a hold someone else started, the block's changes stay in that hold.
    """
    callbacks = doc.callbacks
    if callbacks.hold_value is not None:
        yield
        return
    callbacks.hold("collect")
    try:
        yield
    finally:
        events: list[DocumentChangedEvent] = list(callbacks._held_events)
        callbacks._held_events = []
        callbacks._hold = None
        patched = [e for e in events if isinstance(e, DocumentPatchedEvent)]
        others = [e for e in events if not isinstance(e, DocumentPatchedEvent)]
        for event in others:  # e.g. title or root changes: as unhold would
            callbacks.trigger_on_change(event)
        for event in patched:
            if event.callback_invoker is not None:
                invoke_with_curdoc(doc, event.callback_invoker)
        if patched:
            batch = PatchBatch(doc, patched)

            def notify() -> None:
                # a session (dispatch receiver) gets the batch; doc.on_change callbacks
                # get the events one by one, as always
                for key, callback in list(callbacks._change_callbacks.items()):
                    if hasattr(key, "_document_patched"):
                        key._document_patched(batch)
                    else:
                        for event in patched:
                            callback(event)

            invoke_with_curdoc(doc, notify)
