"""For hrun only (hat runs no user Python from the CLI): the debugtalk functions the
builtins cases call, written as HttpRunner's examples write them; hat has them built in."""


def add(a, b):
    return float(a) + float(b) if "." in f"{a}{b}" else int(a) + int(b)


def concat(*parts):
    return "".join(str(p) for p in parts)
