"""Every Lambda imports app.py: heavy libraries must load only where used."""
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[3]
# (jmespath is not here: botocore itself imports it.)
LAZY = ["twilio", "httpx", "aiohttp", "bcrypt", "yaml", "aiosmtpd", "croniter", "moto", "pydantic"]


def test_import_app_leaves_heavy_libraries_unloaded():
    probe = f"import sys, app; print(','.join(sorted(m for m in {LAZY} if m in sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_DIR, check=True,
                            capture_output=True, text=True).stdout.strip()
    assert loaded == ""
