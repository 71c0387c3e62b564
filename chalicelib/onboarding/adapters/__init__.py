"""Adapters of the onboarding capability (documents)."""
