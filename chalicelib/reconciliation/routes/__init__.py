"""Operators' reconciliation endpoints, one blueprint per subject."""
