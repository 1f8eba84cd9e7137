"""`make dev`: python -m infra.local [--port 8000] [--stage dev]."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from infra.local.stack import DEFAULT_API_PORT, LocalStack, PortInUse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("HAT_PORT", DEFAULT_API_PORT)))
    parser.add_argument("--stage", default=os.environ.get("HAT_STAGE", "dev"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("werkzeug", "mail.log", "botocore.credentials"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    stack = LocalStack(port=args.port, stage=args.stage)
    try:
        stack.start()
    except PortInUse as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print(f"hat {args.stage} is up:\n"
          f"  API           {stack.url}  (try {stack.url}/health)\n"
          f"  outbox        {stack.url}/_local/outbox  (SMS and email the app sent)\n"
          f"  AWS emulator  {stack.emulator.url}\n"
          f"Ctrl-C to stop.", flush=True)
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    print("stopping...", flush=True)
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
