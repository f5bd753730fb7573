"""How long pocgen takes to bind a project's figures to what made them (reports/pipeline.lock).

A detection project is rendered and its smoke pipeline run, then its data folder is grown to
`--images` images (copies of the sample's, renamed), as a collected dataset would be. In the
same run this measures:

- the chain check `pocgen check` and `pocgen writeup` do: read the lock, hash every file its
  records name (model, splits, code, reports) and follow the chain from metrics.json back;
- the alternative a DVC-style pipeline pays when the raw data are a dependency: hashing every
  file under data/raw (DVC's folder hash), which the lock never does (the splits stand for it).

    python benchmarks/bench_evidence.py --images 2000 --runs 5
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests")]

from smoke_project import smoke_project  # noqa: E402

from pocgen.evidence import content_md5, read_evidence  # noqa: E402


def median_seconds(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        project = smoke_project(Path(scratch) / "tray-check", task="object-detection")
        images = sorted(p for p in (project / "data" / "raw").rglob("*") if p.is_file())
        for index in range(args.images - len(images)):
            source = images[index % len(images)]
            shutil.copy(source, source.with_name(f"grown-{index}{source.suffix}"))
        raw_files = sum(1 for _ in (project / "data" / "raw").rglob("*") if _.is_file())

        def chain() -> list[str]:
            return read_evidence(project, "tray_check").broken("reports/metrics.json")

        broken = chain()
        chain_seconds = median_seconds(chain, args.runs)
        raw_seconds = median_seconds(lambda: content_md5(project / "data" / "raw"), args.runs)
    print(f"| what | seconds (median of {args.runs}) |")
    print("| --- | --- |")
    print(f"| chain check from metrics.json (every recorded file hashed) | {chain_seconds:.3f} |")
    print(f"| DVC-style hash of data/raw ({raw_files} files) | {raw_seconds:.3f} |")
    print(f"| ratio | {raw_seconds / chain_seconds:.1f}x |")
    print(f"(the smoke run's own settings are the links it reports: {len(broken)} lines)")


if __name__ == "__main__":
    main()
