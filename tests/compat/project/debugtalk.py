"""For hrun only: the debugtalk functions the builtins case calls, written as HttpRunner's
examples write them. hat has them built in, so its side of the suite runs on a copy of the
project without this file (tests/compat/compare.py, make_project)."""


def add(a, b):
    return float(a) + float(b) if "." in f"{a}{b}" else int(a) + int(b)


def concat(*parts):
    return "".join(str(p) for p in parts)
