"""What the import routes answer (see core/answers.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.catalog.answers import Module, TestcaseSummary
from chalicelib.core.answers import Answer


class ReportEntry(Answer):
    what: str


class ConversionReport(Answer):
    """What became what (converted: what, into), warnings (what, message), and everything not
    converted with the reason (not_converted: what, why)."""

    converted: list[ReportEntry]
    warnings: list[ReportEntry]
    not_converted: list[ReportEntry]


class ImportedEnvironment(Answer):
    """The project environment a Postman environment file went into (?environment=NAME): the
    names of the variables and secrets it set; a secret's value is never answered."""

    name: str
    variables: list[str]
    secrets: list[str]


class ModuleImport(Answer):
    """The test cases made, and the conversion report."""

    format: str
    testcases: list[TestcaseSummary]
    environment: ImportedEnvironment | None = None
    report: ConversionReport


class ProjectImport(ModuleImport):
    """The modules made (one per Postman folder or OpenAPI tag), their test cases, the report."""

    modules: list[Module]


class PreviewTestcase(Answer):
    name: str
    group: str | None
    testcase: dict[str, Any]


class ImportPreview(Answer):
    """dry_run=1 (or nothing converted): the test cases it would make, nothing saved."""

    format: str
    testcases: list[PreviewTestcase] | list[Any]
    environment: ImportedEnvironment | None = None  # what it would write
    report: ConversionReport


class SyncResult(Answer):
    """A re-sync: test cases added (summaries), names of those replaced and of those left alone
    (edited here), operation keys no longer in the source, and the conversion report."""

    format: str
    source_url: str
    added: list[TestcaseSummary]
    updated: list[str]
    left_alone: list[str]
    removed: list[str]
    report: ConversionReport
