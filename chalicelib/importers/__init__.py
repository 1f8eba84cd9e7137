"""Importers: Postman, HAR, OpenAPI/Swagger and cURL sources to HttpRunner v3 testcases.

A pure library beside the runner (no AWS, no DynamoDB): source text in, a `Conversion`
out (testcases, each valid by the runner's `validate_testcase`, and a report of what
became what, warnings, and what was not converted and why). The API (chalicelib/imports)
and the CLI (`python -m chalicelib.runner convert`) only call `convert.convert_text`.

- ``convert``: ``convert_text(text, format=None, options)``, ``detect_format``, ``FORMATS``
- ``postman``, ``har``, ``openapi``, ``curl``: one converter each
- ``loading``: the bounded JSON/YAML reader; ``scripts``: Postman test scripts
"""
