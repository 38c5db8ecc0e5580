"""Figures the reliability tests measure, kept as JSON for ``make reliability``.

Each test calls :func:`record` once with what it injected and what it checked; the
report (``python -m tests.reliability.report``) turns the files into RELIABILITY.md.
"""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path

from streamproc.settings import Settings


def folder(settings: Settings) -> Path:
    return Path(settings.state_dir) / "reliability"


def record(settings: Settings, test: str, **figures: object) -> Path:
    """Write ``figures`` of ``test`` (lost and doubled included) to the state dir."""
    out = folder(settings) / f"{test}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "test": test,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        **figures,
    }
    out.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    return out
