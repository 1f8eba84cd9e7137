"""The `hat` command's package lives in cli/ (installable on its own); import it from there."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "cli"))
