"""The background reader against a stub of the worker's web views."""

from __future__ import annotations

from pathlib import Path

from bokeh_server import feed


def options(url: str, tmp_path: Path) -> feed.Options:
    return feed.Options(url, interval=0.05, data_dir=tmp_path, timeout=1.0, nightly_every=0.0)


def test_a_poll_holds_every_view_as_served(stub_worker, tmp_path):
    reader = feed.Feed(options(stub_worker.url, tmp_path))
    snap = reader.poll()
    assert snap.stale_since is None and snap.error is None
    assert dict(snap.views) == stub_worker.views
    assert snap.nightly is None


def test_a_worker_that_goes_away_makes_the_feed_stale_until_it_returns(stub_worker, tmp_path):
    reader = feed.Feed(options(stub_worker.url, tmp_path))
    live = reader.poll()
    stub_worker.stop()
    stale = reader.poll()
    assert stale.stale_since == live.as_of  # the figures are as old as the last good poll
    assert "refused" in stale.error.lower()
    assert stale.views == live.views  # the last figures stay on screen
    stub_worker.update(lambda v: v["revenue"].update(total_revenue=99, orders=1))
    stub_worker.start()  # same port: the worker is back
    back = reader.poll()
    assert back.stale_since is None
    assert back.views["revenue"]["total_revenue"] == 99


def test_a_recovering_worker_is_stale_with_the_reason(stub_worker, tmp_path):
    stub_worker.status = 503
    snap = feed.Feed(options(stub_worker.url, tmp_path)).poll()
    assert snap.stale_since is not None and "recovering" in snap.error


def test_subscribers_hear_every_poll_from_the_thread(stub_worker, tmp_path):
    import threading

    reader = feed.Feed(options(stub_worker.url, tmp_path))
    heard: list[int] = []
    enough = threading.Event()

    def listen(snap: feed.Snapshot) -> None:
        heard.append(snap.version)
        if len(heard) >= 5:
            enough.set()

    reader.subscribe(listen)
    reader.start()
    try:
        assert enough.wait(5)
    finally:
        reader.stop()
    assert heard[:5] == sorted(heard[:5]) and len(set(heard[:5])) == 5
    assert reader.snapshot.rates  # totals unchanged: zero rates, but points are drawn
