"""Shared plumbing: settings, AWS clients, errors, validation, pagination, jobs."""
