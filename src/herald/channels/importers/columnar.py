"""The fast lane for large CSV files: rows read and cleaned column by column, with Polars.

The row-by-row reader (`tabular._csv_rows`) and the record parsers' per-row code are the
reference. This lane is taken only where it gives the same cells and the same values: a CSV
every line of which is one complete record (no line break inside quotes, no stray quote), without
NUL and without the control characters Python counts as spaces (\\x1c-\\x1f) and Polars does
not. Values Polars cannot decide exactly (non-ASCII text, addresses and domains off the plain
shape) are handed to the very Python functions the row-by-row path uses, once per distinct value.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from typing import Any, cast

import polars as pl

from herald.domain.contacts import (
    _PLAIN_DOMAIN,
    _PLAIN_EMAIL,
    _SPECIAL_USE,
    clean_domain,
    clean_email,
)

# Characters Python's str.strip()/split() count as spaces and Polars (Unicode White_Space) not.
_PYTHON_ONLY_SPACES = "\x00\x1c\x1d\x1e\x1f"
# Every character str.split() splits on, but the plain space.
_OTHER_SPACES = "".join(c for c in map(chr, range(0x110000)) if c.isspace() and c != " ")
_QUOTED = '"(?:[^"]|"")*"'


def _cell(d: str) -> str:
    return f'(?:{_QUOTED}|[^"{re.escape(d)}]*)'


def read_table(data: bytes, delimiter: str) -> pl.DataFrame | None:
    """A UTF-8 file as a frame (`line`, `n` cells, `c0`..: stripped text, "" when absent) when
    every line is one complete record; None when the row-by-row reader must read it (also when
    the bytes are not valid UTF-8)."""
    if not data or data.endswith(b"\r") or any(c.encode() in data for c in _PYTHON_ONLY_SPACES):
        return None  # what Python splits or strips on, and Polars does not
    try:
        return _read_table(data, delimiter)
    except pl.exceptions.ComputeError:  # not UTF-8 after all
        return None


def _read_table(data: bytes, delimiter: str) -> pl.DataFrame | None:
    lines = pl.read_csv(data, has_header=False, quote_char=None, separator="\x1f",
                        schema={"text": pl.String}, raise_if_empty=False)["text"].fill_null("")
    # Polars ends a line at "\n" (dropping a "\r" before it); Python also at a lone "\r".
    if len(lines) != data.count(b"\n") + (not data.endswith(b"\n")) or (
            b"\r" in data and lines.str.contains("\r", literal=True).any()):
        return None
    d = re.escape(delimiter)
    complete = f"^{_cell(delimiter)}(?:{d}{_cell(delimiter)})*$"
    quoted = b'"' in data
    if quoted and not _halves(lines.filter(lines.str.contains('"', literal=True)),
                              lambda line: line.str.contains(complete)).all():
        return None  # a quote the csv module reads across lines, or reads its own way
    # A line has one cell more than delimiters outside its quoted cells, a blank line none.
    delimiters = _halves(lines, lambda line: line.str.count_matches(delimiter, literal=True))
    width = cast(int, delimiters.max() or 0) + 1
    if cast(int, lines.str.len_chars().max() or 0) > csv.field_size_limit():
        return None  # a cell the csv module refuses as too long
    frame = pl.read_csv(data, has_header=False, separator=delimiter, infer_schema=False,
                        schema={f"c{i}": pl.String for i in range(width)},
                        missing_columns="insert", truncate_ragged_lines=True,
                        raise_if_empty=False)
    if frame.height != len(lines):
        return None  # not the reading this lane relies on: leave it to the csv module
    cells = [f"c{i}" for i in range(width)]
    # (Only a quoted cell holds a delimiter.)
    inside = pl.sum_horizontal(pl.col(cells).str.count_matches(delimiter, literal=True)
                               ) if quoted else 0
    n = pl.when(pl.lit(lines) == "").then(0).otherwise(pl.lit(delimiters) + 1 - inside)
    # Cells with spaces around them are rare: a column is stripped only when it has one.
    padded = frame.select((pl.col(cells).str.len_bytes()
                           != pl.col(cells).str.strip_chars().str.len_bytes()).any()).row(0)
    return frame.select(
        pl.int_range(1, len(lines) + 1, dtype=pl.Int64).alias("line"),
        n.cast(pl.Int64).alias("n"),
        *[(pl.col(c).str.strip_chars() if pad else pl.col(c)).fill_null("")
          for c, pad in zip(cells, padded, strict=True)])


def _halves(series: pl.Series, expr: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """expr over each value of a long column, the two halves side by side so that Polars works
    on them at once (one column's string function runs on one core)."""
    half = (len(series) + 1) // 2
    second = pl.concat([series.slice(half), pl.Series([None] * (2 * half - len(series)),
                                                      dtype=series.dtype)], rechunk=False)
    both = pl.DataFrame({"a": series.head(half), "b": second}).select(
        expr(pl.col("a")), expr(pl.col("b")).alias("b_"))
    return pl.concat([both.to_series(0), both.to_series(1).head(len(series) - half)])


def rows_of(frame: pl.DataFrame) -> list[tuple[int, list[str]]]:
    """Rows as the row-by-row reader gives them: (line, its n cells)."""
    cells = [c for c in frame.columns if c.startswith("c")]
    return [(row[0], list(row[2:2 + row[1]]))
            for row in frame.select("line", "n", *cells).iter_rows()]


def column(frame: pl.DataFrame, index: int | None) -> pl.Expr:
    """A row's cell at `index`, "" past its last cell (as the picker gives it)."""
    if index is None or f"c{index}" not in frame.columns:
        return pl.lit("", dtype=pl.String)
    return pl.col(f"c{index}")


def by_python(values: pl.Series, func: Callable[[str], Any], dtype: Any) -> pl.Series:
    """func(value) for each value, computed once per distinct value (in Python)."""
    distinct = values.unique().to_list()
    return values.replace_strict(distinct, [func(v) for v in distinct], return_dtype=dtype)


def each(values: pl.Series, fast: Callable[[pl.LazyFrame], pl.LazyFrame],
         func: Callable[[str], Any]) -> pl.Series:
    """func(value) for each value. `fast` turns a frame of values (column `v`) into one with
    the value (`fast`) and whether it is decided (`decided`); the undecided ones go to func in
    Python, once per distinct value. Only the filled values are worked on (most cells of a wide
    list are empty), and a column of few distinct values (an account team's addresses) once
    per value."""
    filled = (values != "").arg_true()
    if len(filled) < len(values):
        worked = each(values.gather(filled), fast, func)
        return pl.select(pl.repeat(func(""), len(values), dtype=worked.dtype)).to_series(
            ).scatter(filled, worked)
    if len(values) > 0 and cast(int, values.approx_n_unique()) * 4 <= len(values):
        distinct = values.unique()
        return values.replace_strict(distinct, each(distinct, fast, func))
    f = fast(pl.LazyFrame({"v": values})).collect()
    rest = f["decided"].not_().arg_true()
    result = f["fast"]
    if len(rest):
        memo: dict[str, Any] = {}
        slow = [memo[x] if x in memo else memo.setdefault(x, func(x))
                for x in values.gather(rest).to_list()]
        result = result.scatter(rest, pl.Series(slow, dtype=result.dtype))
    return result


def clean_emails(raw: pl.Series) -> pl.Series:
    """`clean_email` of each text (None for "")."""
    def fast(values: pl.LazyFrame) -> pl.LazyFrame:  # (each works on filled values only)
        v, low = pl.col("v"), pl.col("fast")
        return values.select(v, v.str.to_lowercase().alias("fast")).select(
            low, decided=ascii_text(v) & plain_emails(low))

    return each(raw, fast, clean_email)


def clean_domains(raw: pl.Series) -> pl.Series:
    """`clean_domain` of each text (None for "")."""
    def fast(values: pl.LazyFrame) -> pl.LazyFrame:  # (each works on filled values only)
        # (The cut name is a column of its own: an expression used four times would be
        # worked out four times.)
        v, cut = pl.col("v"), pl.col("cut")
        no_dot = ~cut.str.contains(".", literal=True)
        return values.with_columns(cut=host_steps(v.str.to_lowercase())).select(
            fast=pl.when(no_dot).then(None).otherwise(cut),
            decided=ascii_text(v) & (no_dot | plain_domains(cut)))

    return each(raw, fast, clean_domain)


def _fullmatch(pattern: re.Pattern[str]) -> str:
    return f"^(?:{pattern.pattern})$"


# The last label is a special-use name (the names have no dots).
_SPECIAL_END = r"\.(?:" + "|".join(map(re.escape, sorted(_SPECIAL_USE))) + ")$"


def plain_emails(low: pl.Expr) -> pl.Expr:
    """Whether lower-cased ASCII text is an address `clean_email` accepts on its fast path."""
    return (low.str.contains(_fullmatch(_PLAIN_EMAIL)) & (low.str.len_bytes() <= 254)
            & (low.str.find("@", literal=True) <= 64)
            & ~low.str.contains("@.*--") & ~low.str.contains(_SPECIAL_END))


def plain_domains(raw: pl.Expr) -> pl.Expr:
    """Whether a lower-case ASCII name passes `contacts._plain` (accepted as it is)."""
    return (raw.str.contains(_fullmatch(_PLAIN_DOMAIN)) & (raw.str.len_bytes() <= 252)
            & ~raw.str.contains("--", literal=True) & ~raw.str.contains(_SPECIAL_END))


def ascii_text(expr: pl.Expr) -> pl.Expr:
    """Whether text is ASCII (where Polars and Python lower-case and strip alike)."""
    return expr.str.len_bytes() == expr.str.len_chars()


def host_steps(raw: pl.Expr) -> pl.Expr:
    """`clean_domain`'s cutting of lower-case ASCII text down to a host name (before checks)."""
    raw = pl.when(raw.str.contains("@", literal=True) & ~raw.str.contains("/", literal=True)
                  ).then(raw.str.replace("^.*@", "")).otherwise(raw)  # after the last "@"
    raw = raw.str.replace(r"^[a-z][a-z0-9+.-]*://", "")
    raw = raw.str.replace(r"(?s)[/:].*", "")  # what is before the first "/", then ":"
    return raw.str.strip_prefix("www.").str.strip_chars(".")


def one_line_plain(expr: pl.Expr) -> pl.Expr:
    """Whether text has no space but the plain one (then `" ".join(text.split())` is a regex)."""
    return ~expr.str.contains(f"[{re.escape(_OTHER_SPACES)}]")


def one_line(expr: pl.Expr) -> pl.Expr:
    """`" ".join(text.split())` for text whose only spaces are plain spaces."""
    return expr.str.replace_all(" +", " ").str.strip_chars(" ")
