"""Masking a run's secrets: every spelling a request gives them, in reports and in log lines."""
from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote, quote_plus

from chalicelib.core.logs import JsonFormatter
from chalicelib.core.masking import MASK, Masker, masked_text, masking

SECRET = 'p@ss w/"rd+1'


def test_every_spelling_is_masked_in_values_and_keys():
    masker = Masker([SECRET])
    report = {"url": f"/x?k={quote_plus(SECRET)}&j={quote(SECRET, safe='')}", "path": f"/y/{quote(SECRET)}",
              "body": json.dumps({"t": SECRET}),
              "auth": "Basic " + base64.b64encode(SECRET.encode()).decode(),
              SECRET: [SECRET, 3, None, {"deep": f"x{SECRET}y"}]}
    masked = masker.mask(report)
    assert not any(form in json.dumps(masked) for form in
                   (SECRET, quote_plus(SECRET), quote(SECRET), json.dumps(SECRET)[1:-1]))
    assert masked[MASK] == [MASK, 3, None, {"deep": f"x{MASK}y"}]


def test_no_values_mask_nothing():
    masker = Masker([""])
    assert not masker and masker.mask({"a": "b"}) == {"a": "b"} and masker.text("abc") == "abc"


def test_log_lines_inside_the_block_are_masked_and_outside_not():
    record = logging.LogRecord("runner", logging.ERROR, __file__, 1, "failed for %s", (SECRET,), None)
    with masking(Masker([SECRET])):
        assert SECRET not in JsonFormatter().format(record)
        assert masked_text(f"a {SECRET} b") == f"a {MASK} b"
    assert masked_text(SECRET) == SECRET
