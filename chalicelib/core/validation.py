"""The one exception the pure domain raises for a value that breaks a Vietnamese format rule.

It carries a stable ``code`` and a Vietnamese ``message``; the service layer turns it into a field error of a
problem+json answer. The domain imports nothing else of ours.
"""
from __future__ import annotations


class InvalidValueError(ValueError):
    """A value that does not satisfy a domain rule (ID number, phone, tax code, dossier code, amount...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RuleError(InvalidValueError):
    """A value its JSON Schema allows but a rule the schema cannot state refuses: a check digit, a date against
    today, one field against another, a code that must exist in a long table. Such a refusal answers with its own
    problem code (422 ``code``) rather than VALIDATION_FAILED, which is kept for requests that break their schema, so
    that a client generated from the OpenAPI document never sends what the server calls malformed (issue 8 §6)."""
