"""Shared pieces of the CLI: the app, the acting person, output helpers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Annotated, Any

import rich.table
import typer
from pydantic import BaseModel
from rich.console import Console
from rich.text import Text

from herald.errors import InvalidInput
from herald.services.context import Herald, open_herald
from herald.settings import Settings

app = typer.Typer(
    name="herald", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Herald: run the messenger's handbook during an incident.",
)
console = Console(highlight=False)

As = Annotated[str | None, typer.Option("--as", help="Your email (or set HERALD_USER).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Ref = Annotated[str, typer.Argument(help="Incident number (inc-42) or id (7).")]


@cache
def herald() -> Herald:
    """The Herald this process works on (settings from the environment, schema migrated)."""
    return open_herald(Settings())


def actor(given: str | None) -> str:
    """The acting person from --as, else HERALD_USER."""
    who = given or herald().settings.user
    if not who:
        raise InvalidInput("say who you are: --as EMAIL or set HERALD_USER")
    return who


def emit_json(data: BaseModel | Sequence[BaseModel] | dict[str, Any] | list[Any]) -> None:
    """Print JSON for scripts."""
    if isinstance(data, BaseModel):
        payload: Any = data.model_dump(mode="json")
    elif isinstance(data, list | tuple) and data and isinstance(data[0], BaseModel):
        payload = [d.model_dump(mode="json") for d in data]
    else:
        payload = data
    typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))


class Table(rich.table.Table):
    """A Rich table whose string cells are shown literally (user text may hold [brackets])."""

    def add_row(self, *cells: Any, **kwargs: Any) -> None:
        """Add a row, escaping markup in plain strings."""
        super().add_row(*(Text(c) if isinstance(c, str) else c for c in cells), **kwargs)


def ok(text: str) -> None:
    """Confirm what happened, in one line."""
    console.print(text, markup=False)
