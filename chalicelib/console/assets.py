"""The built console files (chalicelib/console/static/), read once per process on first use."""
from __future__ import annotations

import functools
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
ASSETS_DIR = STATIC_DIR / "assets"
# index.html names where the console is mounted in its <base href>; rewritten per caller's base.
BASE_MARKER = '<base href="/ui/">'
# Only the console's own files: no inline script, no eval, no other origin, never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Text types only: Vite's output here is JS, CSS, SVG and JSON (no binary_types needed).
CONTENT_TYPES = {
    ".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml", ".json": "application/json", ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
}


@functools.cache
def _index_template() -> str | None:
    path = STATIC_DIR / "index.html"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def index_html(base: str) -> str | None:
    """The page, its <base href> under the caller's base ("" locally, "/api" on a stage URL)."""
    template = _index_template()
    if template is None or not base:
        return template
    return template.replace(BASE_MARKER, f'<base href="{base}/ui/">', 1)


@functools.lru_cache(maxsize=256)
def asset(name: str) -> tuple[str, str] | None:
    """(text, content type) of a built asset, or None: unknown names, other types and any
    path trick (a name is one path segment, so '..' cannot climb) find nothing."""
    content_type = CONTENT_TYPES.get(Path(name).suffix)
    if content_type is None or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = ASSETS_DIR / name
    return (path.read_text(encoding="utf-8"), content_type) if path.is_file() else None
