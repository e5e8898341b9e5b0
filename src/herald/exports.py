"""Helpers for files people open in spreadsheets."""

from __future__ import annotations

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """Neutralise text a spreadsheet would run as a formula (CSV/formula injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value
