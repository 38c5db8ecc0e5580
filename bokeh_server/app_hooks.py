"""Server lifecycle of the dashboard: one background feed per Bokeh server.

``on_server_loaded`` starts the :class:`~bokeh_server.feed.Feed` that polls the
worker's web views; every session's document subscribes to it (``main.py``).
Options come from ``--args`` (``streamproc dashboard`` passes them), else from
the project's settings.
"""

from __future__ import annotations

import sys

from bokeh_server import feed as feeds

OPTIONS = feeds.parse_args(sys.argv[1:])


def on_server_loaded(server_context: object) -> None:
    """Start polling the worker for this server (once)."""
    if feeds.lookup(server_context) is None:
        feed = feeds.Feed(OPTIONS)
        feed.start()
        feeds.attach(server_context, feed)


def on_server_unloaded(server_context: object) -> None:
    """Stop the feed's thread and close its connection."""
    feed = feeds.detach(server_context)
    if feed is not None:
        feed.stop()
