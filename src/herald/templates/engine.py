"""Load template packs and render them in Jinja's sandbox, reporting problems by name and line."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from herald.errors import InvalidInput

DEFAULT_PACK = Path(__file__).parent / "default"
_FRONT = re.compile(r"\A\+\+\+\s*\n(.*?)\n\+\+\+\s*\n", re.DOTALL)


class TemplateProblem(InvalidInput):
    """A template cannot be used: syntax, unknown blank, sandbox violation; names file and line."""

    def __init__(self, name: str, line: int | None, message: str) -> None:
        self.name, self.line, self.message = name, line, message
        where = f"{name}:{line}" if line else name
        super().__init__(f"template {where}: {message}")


@dataclass
class Template:
    """One template: its front matter and body; line numbers match the file."""

    kind: str
    path: Path
    title: str
    audience: str
    channel: str
    blanks: dict[str, str]
    optional: dict[str, str]
    targets: list[str]
    source: str  # the body, with the front matter replaced by blank lines
    subject: str | None = None

    @property
    def all_blanks(self) -> dict[str, str]:
        """Required and optional blanks with their descriptions."""
        return self.blanks | self.optional


@cache
def sandbox() -> ImmutableSandboxedEnvironment:
    """The sandboxed environment: plain text out (pages escape when they display it)."""
    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                         keep_trailing_newline=False)


@cache
def draft_sandbox() -> ImmutableSandboxedEnvironment:
    """The sandbox drafts are rendered in, per recipient: no globals (range, cycler, lipsum...).

    A draft only needs its per-recipient blanks; without globals there is less to reach for,
    and each render skips merging them into the context (the per-email cost that matters).
    """
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                        keep_trailing_newline=False)
    env.globals.clear()
    return env


def parse_template(path: Path, text: str | None = None) -> Template:
    """Read a template file: TOML front matter between +++ lines, then the Jinja body."""
    name = path.name
    try:
        raw = path.read_text(encoding="utf-8") if text is None else text
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateProblem(name, None, f"cannot read it ({exc})") from None
    match = _FRONT.match(raw)
    if not match:
        raise TemplateProblem(name, 1, "missing front matter (a +++ block naming its blanks)")
    try:
        front = tomllib.loads(match.group(1))
    except tomllib.TOMLDecodeError as exc:
        raise TemplateProblem(name, None, f"front matter: {exc}") from None
    header_lines = match.group(0).count("\n")
    body = "\n" * header_lines + raw[match.end():]
    mentions = {f"mention_{m}": f"Mention of {m.replace('_', ' ')} (from chat settings)."
                for m in front.get("mentions", [])}
    blanks = {str(k): str(v) for k, v in front.get("blanks", {}).items()} | mentions
    return Template(kind=path.name.removesuffix(".j2"), path=path,
                    title=str(front.get("title", name)), audience=str(front.get("audience", "")),
                    channel=str(front.get("channel", "")), blanks=blanks,
                    optional={str(k): str(v) for k, v in front.get("optional", {}).items()},
                    targets=[str(t) for t in front.get("targets", [])], source=body,
                    subject=front.get("subject"))


@dataclass
class Pack:
    """The templates in use: the team's folder first, then Herald's default pack."""

    folders: list[Path] = field(default_factory=lambda: [DEFAULT_PACK])

    @property
    def env(self) -> ImmutableSandboxedEnvironment:
        """The sandboxed environment shared by every render."""
        return sandbox()

    def kinds(self) -> list[str]:
        """Every template kind available, overrides included."""
        return sorted({p.name.removesuffix(".j2") for f in self.folders if f.is_dir()
                       for p in f.glob("*.j2")})

    def path(self, kind: str) -> Path:
        """Where a kind comes from (the first folder that has it)."""
        for folder in self.folders:
            candidate = folder / f"{kind}.j2"
            if candidate.is_file():
                return candidate
        raise InvalidInput(f"no template {kind!r}; templates are: {', '.join(self.kinds())}")

    def get(self, kind: str) -> Template:
        """Load one template kind."""
        return parse_template(self.path(kind))

    def check(self, template: Template) -> list[TemplateProblem]:
        """Syntax errors, blanks used but not declared in the front matter, and what the
        sandbox refuses when the template is rendered with every blank still unfilled."""
        problems = []
        trial = ({name: f"____ ({name})" for name in template.blanks}
                 | dict.fromkeys(template.optional))
        for part, source in (("body", template.source), ("subject", template.subject or "")):
            try:
                ast = self.env.parse(source)
            except TemplateSyntaxError as exc:
                line = exc.lineno if part == "body" else None
                problems.append(TemplateProblem(template.path.name, line,
                                                f"{part}: syntax error: {exc.message}"))
                continue
            used = meta.find_undeclared_variables(ast)
            unknown = sorted(used - template.all_blanks.keys())
            for name in unknown:
                problems.append(TemplateProblem(
                    template.path.name, line_of(ast, name) if part == "body" else None,
                    f"{part} uses {name!r}, which the front matter does not name as a blank"))
            if not unknown:
                try:
                    render_source(self.env, template.path.name, source, trial)
                except TemplateProblem as problem:
                    if part == "subject":
                        problem = TemplateProblem(problem.name, None,
                                                  f"subject: {problem.message}")
                    problems.append(problem)
        return problems


def line_of(ast: nodes.Template, name: str) -> int | None:
    """The first line where the template reads a variable (not where the word is in prose)."""
    lines = [n.lineno for n in ast.find_all(nodes.Name) if n.name == name and n.ctx == "load"]
    return min(lines) if lines else None


def render_source(env: ImmutableSandboxedEnvironment, name: str, source: str,
                  context: dict[str, Any]) -> str:
    """Render template text in the sandbox; any failure becomes a TemplateProblem."""
    try:
        return env.from_string(source).render(context).strip("\n")
    except TemplateSyntaxError as exc:
        raise TemplateProblem(name, exc.lineno, f"syntax error: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateProblem(name, _error_line(exc), f"refused by the sandbox: {exc}") from None
    except UndefinedError as exc:
        raise TemplateProblem(name, _error_line(exc), f"unknown blank: {exc.message}") from None
    except TemplateError as exc:
        raise TemplateProblem(name, _error_line(exc), str(exc)) from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateProblem(name, _error_line(exc), f"{type(exc).__name__}: {exc}") from None


def _error_line(exc: BaseException) -> int | None:
    """The template line a runtime error happened on (from the traceback's template frame)."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
