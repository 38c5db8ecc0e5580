"""Fetch the jars of each stack component from Maven Central into the cache.

Each component has a pom under ``stack/poms/<component>/`` with its versions pinned.
``mvn dependency:copy-dependencies`` copies the resolved jars to
``<cache>/<component>-<fingerprint>/lib``; the fingerprint is a hash of the pom, so a
version bump fetches anew and an unchanged pom reuses what is there.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from stack.exceptions import StackError

POMS = Path(__file__).parent / "poms"
COMPONENTS = ("kafka", "hbase", "hadoop")
_DONE = ".complete"


def pom_path(component: str) -> Path:
    """Return the pom of ``component``."""
    return POMS / component / "pom.xml"


def lib_dir(cache_dir: Path, component: str) -> Path:
    """Return the cached jar directory of ``component`` for the current pom."""
    digest = hashlib.sha256(pom_path(component).read_bytes()).hexdigest()[:12]
    return cache_dir / f"{component}-{digest}" / "lib"


def is_fetched(cache_dir: Path, component: str) -> bool:
    """Tell whether the jars of ``component`` are complete in the cache."""
    return (lib_dir(cache_dir, component).parent / _DONE).exists()


def fetch(cache_dir: Path, component: str, *, quiet: bool = True) -> Path:
    """Fetch the jars of ``component`` unless cached; return the jar directory."""
    lib = lib_dir(cache_dir, component)
    if is_fetched(cache_dir, component):
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("Maven (`mvn`) is not on PATH: install it (apt-get install maven)")
    if lib.exists():
        shutil.rmtree(lib)
    cmd = [
        mvn,
        "-B",
        *(["-q"] if quiet else []),
        "-f",
        str(pom_path(component)),
        f"-Dmaven.repo.local={cache_dir / 'm2'}",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={lib}",
        "-DincludeScope=runtime",
    ]
    for attempt in range(3):
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            (lib.parent / _DONE).write_text(" ".join(cmd) + "\n")
            return lib
        if attempt < 2 and "Could not transfer" in proc.stdout + proc.stderr:
            continue  # a passing network fault: try again
        break
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
    raise StackError(f"fetching the {component} jars failed (mvn exit {proc.returncode}):\n{tail}")


def classpath(cache_dir: Path, component: str, *extra: Path) -> str:
    """Return a java classpath: ``extra`` directories first, then every cached jar."""
    lib = lib_dir(cache_dir, component)
    return ":".join([*(str(e) for e in extra), f"{lib}/*"])


def cache_size(cache_dir: Path) -> int:
    """Return the bytes used by the cache directory."""
    if not cache_dir.exists():
        return 0
    return sum(p.stat().st_size for p in cache_dir.rglob("*") if p.is_file())
