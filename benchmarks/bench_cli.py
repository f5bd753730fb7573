"""How fast is pocgen's CLI, and what does `pocgen new` cost over plain Copier?

Times, as the median of several runs in fresh processes:
- `pocgen --help` (target: under 0.3 s);
- `pocgen new DEST --defaults` against `copier copy --defaults` of the same built-in template
  (target: within 1.2x of plain Copier). pocgen adds the staging folder, the answer checks and
  the template snapshot that makes `pocgen update` possible.

Run: python benchmarks/bench_cli.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pocgen.templating.registry import builtin_root

BIN = Path(sys.executable).parent


def median_seconds(command: list[str], runs: int, before=None) -> float:
    times = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    scratch = Path(tempfile.mkdtemp(prefix="pocgen-bench-"))
    os.environ["POCGEN_CACHE_DIR"] = str(scratch / "cache")
    dest = scratch / "bench-project"

    def clean() -> None:
        shutil.rmtree(dest, ignore_errors=True)

    try:
        help_s = median_seconds([str(BIN / "pocgen"), "--help"], runs)
        template = str(builtin_root() / "poc")
        # one warm-up of each so neither pays for cold file caches or the first snapshot
        subprocess.run(
            [str(BIN / "pocgen"), "new", str(dest), "--defaults"], check=True, capture_output=True
        )
        clean()
        new_s = median_seconds([str(BIN / "pocgen"), "new", str(dest), "--defaults"], runs, clean)
        copier_s = median_seconds(
            [str(BIN / "copier"), "copy", "--defaults", "--quiet", template, str(dest)], runs, clean
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"runs per figure: {runs} (median), load average {os.getloadavg()[0]:.2f}")
    print(f"pocgen --help                 {help_s:6.3f} s   (target < 0.300 s)")
    print(f"pocgen new --defaults         {new_s:6.3f} s")
    print(f"copier copy --defaults        {copier_s:6.3f} s")
    print(f"ratio pocgen new / copier     {new_s / copier_s:6.2f} x (target <= 1.20 x)")


if __name__ == "__main__":
    main()
