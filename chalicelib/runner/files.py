"""A project's files as testcases name them: `upload: {field: "data/x.csv"}` (multipart) and
CSV parameters (`${P(data/users.csv)}`), as HttpRunner 3 reads them from the project folder.

The runner reads no disk and no bucket itself: it is handed a ``FileSource`` (a callable
``path -> bytes``, sync or async, raising ``FileMissing``). The CLI's is ``DirectoryFiles``
(paths relative to the project root); the platform's reads the project's stored files.

Every check here is linear in its input: paths are checked character by character against
a fixed set, CSV goes through the standard library's reader with bounded rows and fields.
"""
from __future__ import annotations

import io
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from chalicelib.runner.errors import RunnerError

MAX_PATH_CHARS = 200
MAX_FILE_BYTES = 5 * 1024 * 1024  # one file a run reads (the platform's limit is lower)
MAX_CSV_ROWS = 1000
# letters, digits and ._-/ only: no spaces, quotes, backslashes, colons or control characters
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")
# the whole value of a parameters entry that names a CSV file: ${P(path)} or ${parameterize(path)}
_CSV_CALL = re.compile(r"\$\{(?:P|parameterize)\(([^()]*)\)\}")

FileSource = Callable[[str], "bytes | Awaitable[bytes]"]


class FileMissing(RunnerError):
    """A file a testcase names is not among the project's files."""


def path_problem(path: object) -> str | None:
    """Why `path` is not a project file path (None: it is one): relative, at most
    MAX_PATH_CHARS, of letters, digits and ``._-/``, no empty, ``.`` or ``..`` segment."""
    if not isinstance(path, str) or not path:
        return "a file path is non-empty text"
    if len(path) > MAX_PATH_CHARS:
        return f"a file path is at most {MAX_PATH_CHARS} characters"
    if path.startswith("/"):
        return f"{path!r}: a file path is relative to the project root (no leading /)"
    bad = next((c for c in path if c not in _SAFE), None)
    if bad is not None:
        return f"{path!r}: {bad!r} is not allowed in a file path (letters, digits and ._-/ only)"
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            return f"{path!r}: a file path has no empty, '.' or '..' segment"
    return None


def csv_path(value: object) -> str | None:
    """The path of a ``${P(path)}`` parameters value, or None when the value is not one."""
    if not isinstance(value, str):
        return None
    match = _CSV_CALL.fullmatch(value.strip())
    return match.group(1).strip() if match else None


def looks_like_path(value: object) -> bool:
    """An upload value meant as a file: text holding a / (HttpRunner's own test is whether
    the file exists; a bare name there is a field's text)."""
    return isinstance(value, str) and "/" in value and "$" not in value


def csv_rows(data: bytes, names: list[str], path: str) -> list[dict[str, str]]:
    """HttpRunner's P(): the header row names the columns; each later row gives `names`
    their values (text, as csv reads them). A missing column or a ragged file says which."""
    import csv

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RunnerError(f"{path}: a CSV file must be UTF-8") from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        if not header:
            raise RunnerError(f"{path}: the CSV file is empty (its first row names the columns)")
        header = [h.strip() for h in header]
        missing = [n for n in names if n not in header]
        if missing:
            raise RunnerError(f"{path}: no column {missing[0]!r} (the columns: {', '.join(header)})")
        columns = [header.index(n) for n in names]
        rows: list[dict[str, str]] = []
        for number, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(rows) == MAX_CSV_ROWS:
                raise RunnerError(f"{path}: more than {MAX_CSV_ROWS} rows")
            if len(row) != len(header):
                raise RunnerError(f"{path}: row {number} has {len(row)} values, the header {len(header)}")
            rows.append({n: row[c] for n, c in zip(names, columns, strict=True)})
    except csv.Error as error:
        raise RunnerError(f"{path}: not a readable CSV file ({error})") from None
    if not rows:
        raise RunnerError(f"{path}: the CSV file has a header and no rows")
    return rows


def multipart_body(fields: Iterable[tuple[str, str | tuple[str, bytes]]]) -> tuple[bytes, str]:
    """(body, content type) of multipart/form-data: a text field, or (file name, bytes) for
    a file, whose part type is guessed from its name as requests-toolbelt does."""
    import mimetypes

    boundary = secrets.token_hex(16)
    parts: list[bytes] = []
    for name, value in fields:
        quoted = _quoted(name)
        if isinstance(value, tuple):
            filename, content = value
            kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            head = (f'Content-Disposition: form-data; name="{quoted}"; '
                    f'filename="{_quoted(filename)}"\r\nContent-Type: {kind}\r\n\r\n')
            parts.append(f"--{boundary}\r\n{head}".encode() + content + b"\r\n")
        else:
            head = f'Content-Disposition: form-data; name="{quoted}"\r\n\r\n'
            parts.append(f"--{boundary}\r\n{head}".encode() + value.encode() + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _quoted(text: str) -> str:
    # a quote or a line break would end the header's value: percent them as browsers do
    return text.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class DirectoryFiles:
    """The CLI's files: paths relative to the project root, never outside it, each at most
    MAX_FILE_BYTES."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def __call__(self, path: str) -> bytes:
        problem = path_problem(path)
        if problem:
            raise FileMissing(problem)
        target = (self.root / path).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            raise FileMissing(f"no file {path!r} under the project root {self.root}")
        with target.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise FileMissing(f"{path}: more than {MAX_FILE_BYTES} bytes")
        return data


def no_files(path: str) -> bytes:
    """The file source of a run given none."""
    raise FileMissing(f"no file {path!r}: this run has no project files")
