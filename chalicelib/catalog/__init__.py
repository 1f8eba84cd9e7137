"""Catalog: projects, members, modules, test cases and environments (API.md, Catalog).

The routes' services: projects.py, members.py, modules.py, testcases.py (bulk.py: many test
cases at once, for imports); cleanup.py cascades deletes. Below them: visibility.py (who sees
what, and the loaders that check it), documents.py, names.py, views.py, secrets.py,
alert_channels.py, models.py (transactions and paging are core/db.py's). Other features read catalog
(and imports write to it) through access.py only, and plug into it through extensions.py.
"""
