import pytest

from streamproc import retry


def test_backoff_doubles_and_caps(monkeypatch):
    sleeps = []
    monkeypatch.setattr(retry.time, "sleep", sleeps.append)
    calls = iter([OSError("down")] * 5 + ["ok"])

    def flaky():
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        return value

    assert retry.with_backoff(flaky, what="svc", attempts=6, base_delay=1, max_delay=4) == "ok"
    assert sleeps == [1, 2, 4, 4, 4]


def test_gives_up_naming_the_service(monkeypatch):
    monkeypatch.setattr(retry.time, "sleep", lambda _s: None)

    def down():
        raise ConnectionRefusedError("refused")

    with pytest.raises(retry.ServiceUnavailable, match="HBase at h:1: no answer after 3 attempts"):
        retry.with_backoff(down, what="HBase at h:1", attempts=3)


def test_other_errors_are_not_retried(monkeypatch):
    monkeypatch.setattr(retry.time, "sleep", lambda _s: pytest.fail("slept"))
    with pytest.raises(ValueError):
        retry.with_backoff(lambda: (_ for _ in ()).throw(ValueError("bug")), what="x")
