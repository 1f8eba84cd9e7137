"""Entry point of ``python -m chalicelib.runner``."""

import sys

from chalicelib.runner.cli import main

sys.exit(main())
