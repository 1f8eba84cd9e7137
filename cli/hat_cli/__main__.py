"""`python -m hat_cli`: the same as `hat`."""
import sys

from hat_cli.main import main

sys.exit(main())
