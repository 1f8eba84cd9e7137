"""Imports: Postman, HAR, OpenAPI and cURL sources into modules and projects (docs/imports.md)."""
