"""Catalog: projects, members, modules, test cases and environments (API.md, Catalog)."""
