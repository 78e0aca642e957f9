"""Stored diagnoses in PostgreSQL: what the results function serves."""

from colorseason.results.store import MIGRATIONS, ResultStore

__all__ = ["MIGRATIONS", "ResultStore"]
