"""hat's HTTP test engine: runs HttpRunner v3 testcases. A pure library: no AWS, no DynamoDB.

Import what you need from the submodules; this package imports nothing on purpose, because
``chalicelib.runner.schema`` is on the API's cold path and must not pull in the HTTP client.

- ``schema``: ``validate_testcase``, ``parse_testcase_text`` (save-time checks)
- ``engine``: ``run_testcases`` (async), ``run_testcases_sync``
- ``report``: ``to_junit_xml``
- ``ssrf``: ``parse_outbound_allow``, ``OutboundPolicy``
"""
