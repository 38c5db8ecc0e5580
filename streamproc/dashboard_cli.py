"""``streamproc dashboard``: serve the live Bokeh dashboard (``bokeh_server/``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from streamproc.settings import Settings, get_settings

if TYPE_CHECKING:
    from bokeh.server.server import Server
    from tornado.ioloop import IOLoop

#: the Bokeh app directory: main.py, app_hooks.py, theme.yaml, templates/
APP_DIR = Path(__file__).resolve().parent.parent / "bokeh_server"
APP_PATH = "/dashboard"


def default_origins(port: int) -> list[str]:
    """Return the websocket origins allowed by default: this machine only."""
    return [f"localhost:{port}", f"127.0.0.1:{port}"]


def make_server(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    worker_url: str | None = None,
    interval: float = 0.4,
    allow_websocket_origin: list[str] | None = None,
    io_loop: IOLoop | None = None,
) -> Server:
    """Return a Bokeh server for the dashboard at ``/dashboard`` (not started).

    Args:
        settings: ``web_host`` (bind address), ``dashboard_port``, the worker's
            ``web_host``/``web_port`` and ``data_dir`` come from here.
        host: Bind address instead of ``settings.web_host``.
        port: Port instead of ``settings.dashboard_port``; 0 picks a free one.
        worker_url: The worker's web views instead of ``http://web_host:web_port``.
        interval: Seconds between two polls of the worker.
        allow_websocket_origin: ``host[:port]`` pages allowed to open the websocket;
            default ``localhost:<port>`` and ``127.0.0.1:<port>``.
        io_loop: The Tornado loop to run on (default: the current one).
    """
    from bokeh.application import Application
    from bokeh.application.handlers.directory import DirectoryHandler
    from bokeh.server.server import Server

    from bokeh_server import feed

    host = host or settings.web_host
    port = settings.dashboard_port if port is None else port
    options = feed.Options(
        worker_url=(worker_url or f"http://{settings.web_host}:{settings.web_port}").rstrip("/"),
        interval=interval,
        data_dir=settings.data_dir,
    )
    app = Application(DirectoryHandler(filename=str(APP_DIR), argv=feed.to_argv(options)))
    kwargs = {"io_loop": io_loop} if io_loop is not None else {}
    server = Server(
        {APP_PATH: app},
        address=host,
        port=port,
        allow_websocket_origin=allow_websocket_origin or default_origins(port),
        num_procs=1,
        **kwargs,
    )
    return server


@click.command("dashboard")
@click.option(
    "--host", default=None,
    help="Bind address [default: ECOM_WEB_HOST, 127.0.0.1].",
)  # fmt: skip
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None,
    help="Port [default: ECOM_DASHBOARD_PORT, 5006].",
)  # fmt: skip
@click.option(
    "--worker-url", default=None,
    help="The stream worker's web views [default: http://ECOM_WEB_HOST:ECOM_WEB_PORT].",
)  # fmt: skip
@click.option(
    "--interval", type=click.FloatRange(0.1, 10.0), default=0.4, show_default=True,
    help="Seconds between two polls of the worker.",
)  # fmt: skip
@click.option(
    "--allow-websocket-origin", "origins", multiple=True,
    help="host[:port] a page may be served from; repeat for more "
    "[default: localhost:PORT and 127.0.0.1:PORT].",
)  # fmt: skip
def dashboard(
    host: str | None,
    port: int | None,
    worker_url: str | None,
    interval: float,
    origins: tuple[str, ...],
) -> None:
    """Serve the live dashboard at http://HOST:PORT/dashboard until Ctrl-C."""
    settings = get_settings()
    port = settings.dashboard_port if port is None else port
    server = make_server(
        settings,
        host=host,
        port=port,
        worker_url=worker_url,
        interval=interval,
        allow_websocket_origin=list(origins) or None,
    )
    server.start()
    click.echo(
        f"dashboard on http://{host or settings.web_host}:{port}{APP_PATH} "
        f"(worker {worker_url or f'http://{settings.web_host}:{settings.web_port}'}); "
        "Ctrl-C stops it",
        err=True,
    )
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        click.echo("stopping", err=True)
    finally:
        server.stop()
