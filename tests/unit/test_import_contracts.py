"""The import-linter contracts in pyproject.toml (also in `make lint`): feature packages depend
one way (schedules -> runs -> notify -> keys -> catalog -> accounts -> core -> runner) and no
package's modules import each other in a cycle. A cycle that comes back fails here."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_hold():
    # A process of its own: import-linter puts the working directory on sys.path.
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                               "sys.exit(lint_imports(no_cache=True, no_logo=True))"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout
