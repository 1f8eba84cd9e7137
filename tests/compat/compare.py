"""The HttpRunner compatibility suite (issue 17): small testcases of documented HttpRunner 3
behaviour in tests/compat/project/testcases/, one per behaviour, run by hat's CLI and by
hrun 3.1.11 (its own virtualenv, as tests/bench/bench_runner.py installs it) against the
same local server; the two verdicts are compared and printed as a table.

`make compat` runs this (not `make test`: it installs HttpRunner once and takes a minute);
tests/functional/runner/test_compat_suite.py runs the hat half in `make test`.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # run as a script: `python tests/compat/compare.py`
    sys.path.insert(0, str(REPO_ROOT))

PROJECT = Path(__file__).resolve().parent / "project"
CASES = sorted(p for p in (PROJECT / "testcases").glob("*.yml"))
# the verdict each side should give; the differences are hat's on purpose (runner/README.md)
EXPECTED: dict[str, tuple[str, str]] = {case.stem: ("pass", "pass") for case in CASES}
# measured: hrun compares the text "$.token" itself, as hat does (runner/README.md said
# hrun passes such checks; it fails them)
EXPECTED["difference_dollar_path"] = ("fail", "fail")
# measured: hrun's `cookies` are the last response's, so a cookie only a redirect set is None
EXPECTED["item10_cookie_after_redirect"] = ("pass", "fail")
# measured: 3.1.11's model types params as text values and refuses a list
EXPECTED["item05_list_in_params"] = ("pass", "fail")
# hrun's `upload:` needs these (HttpRunner's own "upload" extra)
HRUN_UPLOAD_EXTRAS = ["requests-toolbelt==1.0.0", "filetype==1.2.0"]
HRUN_CASE_TIMEOUT_SECONDS = 120


def make_project(base_url: str, into: Path, *, debugtalk: bool = True) -> Path:
    """A copy of the project, with the .env both read: the server's address, a user.

    Without ``debugtalk``, the copy has no debugtalk.py: hat's side runs on its builtins
    (its CLI would otherwise load the file, as hrun does, and test nothing of its own)."""
    root = into / "project"
    shutil.copytree(PROJECT, root, ignore=None if debugtalk else shutil.ignore_patterns("debugtalk.py"))
    (root / ".env").write_text(f"BASE_URL={base_url}\nUSER_NAME=from-env\n")
    return root


def hat_verdict(root: Path, case: Path) -> tuple[str, str]:
    """("pass" or "fail", the CLI's output) of hat's CLI on one case of the project copy."""
    from chalicelib.runner.cli import main

    out = io.StringIO()
    code = main(["run", str(root / "testcases" / case.name), "--allow-private"], stdout=out)
    return ("pass" if code == 0 else "fail"), out.getvalue()


def hrun_verdict(bin_dir: Path, root: Path, case: Path) -> tuple[str, str]:
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([str(bin_dir / "hrun"), f"testcases/{case.name}"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=HRUN_CASE_TIMEOUT_SECONDS)
    return ("pass" if result.returncode == 0 else "fail"), result.stdout


def ensure_hrun_with_upload() -> Path:
    from tests.bench.bench_runner import ensure_hrun

    bin_dir = ensure_hrun()
    check = subprocess.run([str(bin_dir / "python"), "-c", "import requests_toolbelt, filetype"],
                           capture_output=True)
    if check.returncode != 0:
        subprocess.run([str(bin_dir / "pip"), "install", "-q", *HRUN_UPLOAD_EXTRAS], check=True)
    return bin_dir


def main() -> int:
    from tests.functional.runner.server import LocalServer

    bin_dir = ensure_hrun_with_upload()
    rows = []
    with LocalServer() as server, tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            # each side gets a fresh copy: hrun writes its generated pytest files next to the cases
            hat_root = make_project(server.url, Path(tmp) / f"hat-{case.stem}", debugtalk=False)
            hrun_root = make_project(server.url, Path(tmp) / f"hrun-{case.stem}")
            hat, hat_out = hat_verdict(hat_root, case)
            hrun, hrun_out = hrun_verdict(bin_dir, hrun_root, case)
            rows.append((case.stem, hat, hrun, EXPECTED[case.stem], hat_out, hrun_out))
    print("| case | hat | hrun 3.1.11 | expected (hat, hrun) | as expected |")
    print("|---|---|---|---|---|")
    for name, hat, hrun, expected, _, _ in rows:
        ok = "yes" if (hat, hrun) == expected else "NO"
        print(f"| {name} | {hat} | {hrun} | {expected[0]}, {expected[1]} | {ok} |")
    wrong = [row for row in rows if (row[1], row[2]) != row[3]]
    for name, _hat, _hrun, _expected, hat_out, hrun_out in wrong:
        print(f"\n== {name}\n-- hat:\n{hat_out[-2000:]}\n-- hrun:\n{hrun_out[-3000:]}")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
