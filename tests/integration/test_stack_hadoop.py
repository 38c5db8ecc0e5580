"""The thin hadoop launcher and a real mrjob job on Hadoop streaming."""

import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from stack import jars

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HADOOP = ROOT / "stack" / "bin" / "hadoop"

WORD_COUNT = textwrap.dedent(
    """
    from mrjob.job import MRJob

    class MRWordCount(MRJob):
        def mapper_split_words(self, _, line):
            for word in line.split():
                yield word.lower(), 1

        def reducer_sum_counts(self, word, counts):
            yield word, sum(counts)

        def steps(self):
            from mrjob.step import MRStep
            return [MRStep(mapper=self.mapper_split_words, reducer=self.reducer_sum_counts)]

    if __name__ == "__main__":
        MRWordCount.run()
    """
)


def _env(settings):
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(Path.home()),
        "ECOM_CACHE_DIR": str(settings.cache_dir),
        "ECOM_STATE_DIR": str(settings.state_dir),
    }


def test_hadoop_version(stack):
    out = subprocess.run(
        [HADOOP, "version"], capture_output=True, text=True, check=True, env=_env(stack)
    )
    assert out.stdout.splitlines()[0] == "Hadoop 3.5.0"


def test_hadoop_fs_lists_a_local_dir(stack, tmp_path):
    (tmp_path / "a.txt").write_text("x")
    out = subprocess.run(
        [HADOOP, "fs", "-ls", tmp_path.as_uri()],
        capture_output=True,
        text=True,
        check=True,
        env=_env(stack),
    )
    assert "a.txt" in out.stdout


def test_mrjob_word_count_on_hadoop_streaming(stack, tmp_path):
    text = "the quick brown fox\nThe lazy dog\nthe end\n" * 50
    (tmp_path / "in.txt").write_text(text)
    (tmp_path / "wc.py").write_text(WORD_COUNT)
    streaming = next(jars.lib_dir(stack.cache_dir, "hadoop").glob("hadoop-streaming-*.jar"))
    out_dir = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "wc.py",
            "-r",
            "hadoop",
            "--conf-path",
            "/dev/null",
            "--hadoop-bin",
            str(HADOOP),
            "--hadoop-streaming-jar",
            str(streaming),
            "--hadoop-tmp-dir",
            (tmp_path / "mrtmp").as_uri(),
            "--python-bin",
            sys.executable,
            "--output-dir",
            out_dir.as_uri(),
            "in.txt",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_env(stack),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Running step 1 of 1" in proc.stderr  # a real hadoop-streaming run
    got = {}
    for part in out_dir.glob("part-*"):
        for line in part.read_text().splitlines():
            word, count = line.split("\t")
            got[word.strip('"')] = int(count)
    assert got == dict(Counter(text.lower().split()))
