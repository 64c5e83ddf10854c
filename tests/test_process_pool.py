"""Process pools: workers run the installed `pipeline`, wherever the command is started."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pipeline

POOL_SCRIPT = """
from pipeline.process_pool import process_pool

if __name__ == "__main__":
    with process_pool(2, preload=["pipeline.process_pool"]) as pool:
        print(pool.submit(eval, "__import__('pipeline').__file__").result())
"""


def test_workers_ignore_a_pipeline_package_in_the_current_directory(tmp_path: Path) -> None:
    # A checkout (or anything named pipeline) where the operator happens to stand.
    stray = tmp_path / "cwd" / "pipeline"
    stray.mkdir(parents=True)
    (stray / "__init__.py").write_text("STRAY = True\n")
    script = tmp_path / "scripts" / "pool.py"
    script.parent.mkdir()
    script.write_text(POOL_SCRIPT)

    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=stray.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert done.stdout.strip() == pipeline.__file__
