"""One cookie jar per testcase: the steps of a testcase share cookies, testcases do not,
although they share one connection pool (whose client-level jar is therefore disabled)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.cookies import CookieError, Morsel, SimpleCookie
from urllib.parse import urlsplit


@dataclass
class _Cookie:
    value: str
    domain: str  # leading dot: the domain and its subdomains; else this host only
    path: str
    secure: bool


def _expired(morsel: Morsel[str]) -> bool:
    # how servers delete a cookie: Max-Age=0 (or negative), or an Expires in the past
    if morsel["max-age"]:
        try:
            return int(morsel["max-age"]) <= 0
        except ValueError:
            return False
    if morsel["expires"]:
        try:
            return parsedate_to_datetime(morsel["expires"]).timestamp() < time.time()
        except (TypeError, ValueError):
            return False
    return False


class CookieJar:
    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str, str], _Cookie] = {}

    def update(self, url: str, set_cookie_headers: list[str]) -> dict[str, str]:
        """Store the cookies of a response; returns the name -> value pairs it set."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        default_path = parts.path.rsplit("/", 1)[0] or "/"
        received: dict[str, str] = {}
        for header in set_cookie_headers:
            parsed = SimpleCookie()
            try:
                parsed.load(header)
            except CookieError:
                continue  # a malformed Set-Cookie is ignored, as browsers do
            for name, morsel in parsed.items():
                domain_attr = morsel["domain"].lower().lstrip(".")
                if domain_attr and not (host == domain_attr or host.endswith("." + domain_attr)):
                    continue  # a server may not set cookies for another domain
                domain = "." + domain_attr if domain_attr else host
                path = morsel["path"] or default_path
                key = (domain, path, name)
                if _expired(morsel):
                    self._cookies.pop(key, None)
                    continue
                self._cookies[key] = _Cookie(morsel.value, domain, path, bool(morsel["secure"]))
                received[name] = morsel.value
        return received

    def pairs_for(self, url: str) -> list[tuple[str, str]]:
        """The (name, value) cookies to send to a URL."""
        if not self._cookies:
            return []
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        path = parts.path or "/"
        pairs = []
        for (_domain, _path, name), cookie in self._cookies.items():
            if cookie.domain.startswith("."):
                if not (host == cookie.domain[1:] or host.endswith(cookie.domain)):
                    continue
            elif host != cookie.domain:
                continue
            if not (path == cookie.path or path.startswith(cookie.path.rstrip("/") + "/")):
                continue
            if cookie.secure and parts.scheme != "https":
                continue
            pairs.append((name, cookie.value))
        return pairs
