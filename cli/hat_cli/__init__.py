"""hat-cli: the `hat` command for pipelines (see main.py)."""
