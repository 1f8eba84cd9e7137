"""Cold start: `import app` against the import of chalice + boto3 + pynamodb alone.

Budget (DESIGN.md): at most 1.3x. Each side runs in a fresh interpreter, interleaved,
and the median of several runs is compared, so machine noise hits both alike.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
RUNS = 15  # a fresh interpreter per run wanders by +-20% here: the median of many
BUDGET_RATIO = 1.3
TIMER = "import time; t = time.perf_counter(); {imports}; print(time.perf_counter() - t)"
BASELINE = "import chalice, chalice.app, boto3, pynamodb.models, pynamodb.attributes"
APP = "import app"


def seconds(imports: str) -> float:
    output = subprocess.run([sys.executable, "-c", TIMER.format(imports=imports)], cwd=PROJECT_DIR,
                            check=True, capture_output=True, text=True).stdout
    return float(output.strip().splitlines()[-1])


def main() -> int:
    seconds(APP)  # warm the file cache and .pyc files
    baseline, app = [], []
    for _ in range(RUNS):
        baseline.append(seconds(BASELINE))
        app.append(seconds(APP))
    base_ms, app_ms = statistics.median(baseline) * 1000, statistics.median(app) * 1000
    ratio = app_ms / base_ms
    verdict = "within" if ratio <= BUDGET_RATIO else "OVER"
    print(f"import chalice+boto3+pynamodb: {base_ms:.0f} ms (median of {RUNS})")
    print(f"import app:                    {app_ms:.0f} ms (median of {RUNS})")
    print(f"ratio: {ratio:.2f}x  ({verdict} the {BUDGET_RATIO}x budget)")
    return 0 if ratio <= BUDGET_RATIO else 1  # `make bench` names the benches that missed


if __name__ == "__main__":
    sys.exit(main())
