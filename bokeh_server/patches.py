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

Every session sends the same figures after a poll, so :class:`Shared` lets them
compute a source's columns once per snapshot and encode their lists once: the
serializer of a batch (:class:`_SharingSerializer`) uses the encoding a list already
has instead of walking it item by item for each session, and it looks up the
document's synced models as it meets them instead of building a reference for all
460 of them per message.  ``tests/dashboard/test_patches.py`` checks that the result
is the message Bokeh itself builds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Hashable, Iterator
from typing import Any

from bokeh.core.serialization import Ref, Serializer
from bokeh.document import Document
from bokeh.document.callbacks import invoke_with_curdoc
from bokeh.document.events import DocumentChangedEvent, DocumentPatchedEvent
from bokeh.document.json import PatchJson
from bokeh.model import Model
from bokeh.protocol.messages.patch_doc import patch_doc
from bokeh.server.connection import ServerConnection

#: item types whose encoding does not depend on the document they are sent to
_PLAIN = frozenset({str, int, float, bool, type(None)})


class Shared:
    """Values that every session of one snapshot sends, each computed and encoded once.

    The lists inside a shared value are sent by many sessions and must never be
    changed in place (sources are given new data, never streamed into a shared list).
    """

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}
        self._encoded: dict[int, tuple[list, Any]] = {}

    def get(self, key: Hashable, compute: Callable[..., Any], *args: Any) -> Any:
        """Return the value of ``key``; the first call computes it and encodes its lists.

        Args:
            key: What the value is, the same in every session (e.g. a source's name).
            compute: Builds the value: a list, or a dict of lists (a source's columns).
            *args: What ``compute`` is called with.
        """
        try:
            return self._values[key]
        except KeyError:
            pass
        value = compute(*args)
        for item in value.values() if isinstance(value, dict) else (value,):
            if isinstance(item, list) and all(type(x) in _PLAIN for x in item):
                self._encoded[id(item)] = (item, Serializer().encode(item))
        self._values[key] = value
        return value

    def encoded(self, obj: list) -> Any | None:
        """Return the encoding of a shared list, None for any other list."""
        found = self._encoded.get(id(obj))
        return found[1] if found is not None and found[0] is obj else None


class _SharingSerializer(Serializer):
    """Bokeh's serializer, reusing :class:`Shared` encodings and finding refs lazily."""

    def __init__(self, doc: Document, shared: Shared | None) -> None:
        super().__init__()
        self._models = doc.models
        self._shared = shared

    def get_ref(self, obj: Any) -> Ref | None:
        ref = self._references.get(id(obj))
        if ref is None and isinstance(obj, Model) and self._synced(obj):
            ref = self._references[id(obj)] = obj.ref
        return ref

    def _synced(self, model: Model) -> bool:
        # Bokeh's synced_references: in the document and already sent to the client
        models = self._models
        return model.id in models and models[model.id] is model and model not in models._new_models

    def encode(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is str or kind is bool or obj is None:  # as Bokeh encodes them
            return obj
        if kind is list and self._shared is not None:
            encoded = self._shared.encoded(obj)
            if encoded is not None:
                return encoded
        return super().encode(obj)


def patch_message(events: list[DocumentPatchedEvent], shared: Shared | None) -> patch_doc:
    """Return the ``PATCH-DOC`` of one document's events, as ``patch_doc.create`` would."""
    doc = events[0].document
    serializer = _SharingSerializer(doc, shared)
    content = PatchJson(events=serializer.encode(events))
    doc.models.flush_synced(lambda model: not serializer.has_ref(model))
    msg = patch_doc(patch_doc.create_header(), {}, content)
    for buffer in serializer.buffers:
        msg.add_buffer(buffer)
    return msg


class PatchBatch(DocumentPatchedEvent):
    """Events of one document that a session sends together in one ``PATCH-DOC``."""

    kind = "PatchBatch"  # never on the wire: the events are sent, not the batch

    def __init__(
        self, document: Document, events: list[DocumentPatchedEvent], shared: Shared | None
    ) -> None:
        super().__init__(document)
        self.events = events
        self.shared = shared

    def to_serializable(self, serializer: Any) -> Any:
        """Refuse: the session sends :attr:`events` instead."""
        raise TypeError("a PatchBatch is sent as its events, never serialized itself")


_original_send = ServerConnection.send_patch_document


def _send_patch_document(self: ServerConnection, event: DocumentPatchedEvent) -> Awaitable[None]:
    if isinstance(event, PatchBatch):
        return self._socket.send_message(patch_message(event.events, event.shared))
    return _original_send(self, event)


def install() -> None:
    """Let Bokeh's server connections send a :class:`PatchBatch` (idempotent)."""
    ServerConnection.send_patch_document = _send_patch_document


@contextlib.contextmanager
def batched(doc: Document, shared: Shared | None = None) -> Iterator[None]:
    """Send every change ``doc`` gets inside the block as one message per connection.

    Inside a hold someone else started, the block's changes stay in that hold.

    Args:
        doc: The session's document.
        shared: Values of the block that other sessions send too (see :class:`Shared`).
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
            batch = PatchBatch(doc, patched, shared)

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
