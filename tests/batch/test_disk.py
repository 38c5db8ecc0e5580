"""The ETL refuses up front a run that would fill its disk (batch/mapreduce/pipeline.py).

The disk is a stand-in here (``shutil.disk_usage``); the factors are the measured ones
that DISK_PER_BYTE documents."""

from __future__ import annotations

from collections import namedtuple
from pathlib import Path

import pytest
from click.testing import CliRunner

from batch.cli import batch
from batch.mapreduce import pipeline
from batch.mapreduce.pipeline import NotEnoughDisk, check_disk, run_etl

MB = 1_000_000
Usage = namedtuple("Usage", "total used free")


@pytest.fixture
def day(tmp_path: Path) -> Path:
    """An export of 10 MB of orders."""
    folder = tmp_path / "2026-12-01"
    folder.mkdir()
    for name in ("customers", "products"):
        (folder / f"{name}.jsonl").write_bytes(b"")
    (folder / "orders.jsonl").write_bytes(b"x" * (10 * MB))
    return folder


def free(monkeypatch: pytest.MonkeyPatch, megabytes: int) -> None:
    usage = Usage(1000 * MB, 0, megabytes * MB)
    monkeypatch.setattr(pipeline.shutil, "disk_usage", lambda _path: usage)


def test_the_local_runner_needs_31_times_the_orders_on_one_disk(day, monkeypatch):
    free(monkeypatch, 310)  # 26x for mrjob's temporary files, 5x for the outputs
    check_disk(day, "local")
    free(monkeypatch, 309)
    with pytest.raises(NotEnoughDisk, match=r"local ETL of 10 MB .* about 310 MB in .* 309 MB are"):
        check_disk(day, "local")


def test_the_hadoop_runner_needs_less(day, monkeypatch):
    free(monkeypatch, 140)  # 9x + 5x
    check_disk(day, "hadoop", day / "etl-hadoop-tmp")
    with pytest.raises(NotEnoughDisk):
        check_disk(day, "inline")  # 25x + 5x


def test_the_outputs_of_an_earlier_run_count_as_free(day, monkeypatch):
    (day / "etl" / "mr").mkdir(parents=True)
    (day / "etl" / "mr" / "part-00000").write_bytes(b"x" * (20 * MB))
    free(monkeypatch, 290)
    check_disk(day, "local")


def test_a_run_that_does_not_fit_starts_no_job_and_keeps_the_day(day, monkeypatch):
    (day / "etl").mkdir()
    (day / "etl" / "sales.json").write_text("{}")
    free(monkeypatch, 100)
    with pytest.raises(NotEnoughDisk):
        run_etl(day, "local")
    assert (day / "etl" / "sales.json").read_text() == "{}"  # the earlier outputs stay
    assert sorted(p.name for p in (day / "etl").iterdir()) == ["sales.json"]


def test_the_cli_names_the_need_and_the_free_space(day, monkeypatch):
    free(monkeypatch, 100)
    result = CliRunner().invoke(
        batch, ["etl", "-r", "local", "--out", str(day.parent), "--date", day.name]
    )
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "local ETL of 10 MB of orders needs about 310 MB" in text
    assert "and 100 MB are free" in text
    assert "-r hadoop (9x), a larger disk for TMPDIR or a cluster" in text
