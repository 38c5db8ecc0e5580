"""A bare client of the Bokeh server's websocket protocol, for load and message tests.

``open_session`` does what the page's JavaScript does on load: it opens
``ws://…/<app>/ws`` with a signed session token as the second subprotocol, waits for
the server's ``ACK``, sends ``PULL-DOC-REQ`` and returns the document's JSON; the
returned :class:`Socket` then reads whole messages (header, metadata, content and
binary buffers).  It builds no Bokeh models, so one process can hold many sessions
without being the bottleneck it would be with ``bokeh.client``.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from bokeh.util.token import generate_jwt_token, generate_session_id


class ProtocolError(RuntimeError):
    """The server sent something a Bokeh client does not expect."""


def find_model(node: Any, name: str) -> dict | None:
    """Return the serialized model called ``name`` in a document's JSON, None if absent."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "object" and item.get("attributes", {}).get("name") == name:
                return item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def column(data: Any, key: str) -> list:
    """Return one column of a serialized ``ColumnDataSource.data`` map."""
    if not (isinstance(data, dict) and data.get("type") == "map"):
        raise ProtocolError(f"expected a serialized map, got {str(data)[:200]}")
    for entry_key, values in data["entries"]:
        if entry_key == key:
            if not isinstance(values, list):
                raise ProtocolError(f"column {key!r} is not a plain list: {str(values)[:200]}")
            return values
    raise ProtocolError(f"no column {key!r} in {[k for k, _ in data['entries']]}")


def data_changes(content: dict, model_id: str) -> list[Any]:
    """Return the new ``data`` maps a ``PATCH-DOC`` content gives the source ``model_id``."""
    found = []
    for event in content.get("events", ()):
        if event.get("model", {}).get("id") != model_id:
            continue
        if event["kind"] == "ColumnDataChanged":  # source.data = {...}
            found.append(event["data"])
        elif event["kind"] == "ModelChanged" and event["attr"] == "data":
            found.append(event["new"])
    return found


class Socket:
    """Reads and writes whole Bokeh messages on a websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ids = 0

    async def _frame(self) -> str | bytes:
        msg = await self.ws.receive()
        if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            return msg.data
        raise ConnectionError(f"websocket closed ({msg.type.name}: {msg.data!r})")

    async def receive(self) -> tuple[dict, dict]:
        """Return the next message's header and content."""
        header = orjson.loads(await self._frame())
        await self._frame()  # metadata
        content = orjson.loads(await self._frame())
        for _ in range(2 * header.get("num_buffers", 0)):  # buffer header + payload
            await self._frame()
        return header, content

    async def send(self, msgtype: str) -> None:
        """Send a message with empty metadata and content, e.g. ``PULL-DOC-REQ``."""
        self._ids += 1
        for part in ({"msgid": str(self._ids), "msgtype": msgtype}, {}, {}):
            await self.ws.send_str(orjson.dumps(part).decode())  # text frames only


async def open_session(
    http: aiohttp.ClientSession, page_url: str
) -> tuple[aiohttp.ClientWebSocketResponse, Socket, dict]:
    """Open a new session of the app at ``page_url``.

    Returns its websocket (the caller closes it), a reader of its messages and the
    document's JSON.
    """
    ws_url = page_url.replace("http://", "ws://", 1).rstrip("/") + "/ws"
    token = generate_jwt_token(generate_session_id())
    ws = await http.ws_connect(ws_url, protocols=("bokeh", token), max_msg_size=0)
    try:
        sock = Socket(ws)
        header, _ = await sock.receive()
        if header["msgtype"] != "ACK":
            raise ProtocolError(f"expected ACK, got {header['msgtype']}")
        await sock.send("PULL-DOC-REQ")
        header, content = await sock.receive()
        while header["msgtype"] != "PULL-DOC-REPLY":
            # a patch sent before the reply is already in the document
            header, content = await sock.receive()
    except BaseException:
        await ws.close()
        raise
    return ws, sock, content["doc"]
