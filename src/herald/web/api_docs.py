"""The API reference at /api/docs: the OpenAPI document as a plain page (no scripts from
elsewhere, so it works offline and under the workspace's content security policy)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from herald.web.render import TEMPLATES, render

router = APIRouter(include_in_schema=False)


@dataclass
class Field:
    """A parameter or a body field."""

    name: str
    where: str
    type: str
    required: bool
    description: str


@dataclass
class Operation:
    """One method on one path."""

    method: str
    path: str
    summary: str
    description: str
    anchor: str
    fields: list[Field] = field(default_factory=list)
    responses: list[tuple[str, str]] = field(default_factory=list)


def _schema(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def type_name(doc: dict[str, Any], schema: dict[str, Any]) -> str:
    """A schema as a reader wants it: 'string', 'list of integer', 'Impact (yes, no)'."""
    if "anyOf" in schema:
        kinds = [type_name(doc, s) for s in schema["anyOf"] if s.get("type") != "null"]
        return " or ".join(kinds) + (" or null" if len(kinds) < len(schema["anyOf"]) else "")
    if "$ref" in schema:
        target = _schema(doc, schema)
        name = schema["$ref"].rsplit("__", 1)[-1].rsplit("/", 1)[-1]
        return f"{name} ({', '.join(map(str, target['enum']))})" if "enum" in target else name
    if "enum" in schema:
        return " | ".join(map(str, schema["enum"]))
    if schema.get("type") == "array":
        return "list of " + type_name(doc, schema.get("items", {}))
    if schema.get("type") == "object" and "additionalProperties" in schema:
        return "object of " + type_name(doc, schema["additionalProperties"])
    return str(schema.get("format") or schema.get("type") or "any")


def _fields(doc: dict[str, Any], op: dict[str, Any]) -> list[Field]:
    out = [Field(p["name"], p["in"], type_name(doc, p.get("schema", {})),
                 bool(p.get("required")), p.get("description", ""))
           for p in op.get("parameters", [])]
    body = op.get("requestBody", {}).get("content", {})
    for media, content in body.items():
        schema = content.get("schema", {})
        if "anyOf" in schema:  # an optional body: its one model, or nothing
            schema = next((s for s in schema["anyOf"] if "$ref" in s), schema)
        schema = _schema(doc, schema)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            out.append(Field(name, "body" if media == "application/json" else media,
                             type_name(doc, prop), name in required,
                             prop.get("description", "")))
    return out


def operations(doc: dict[str, Any]) -> dict[str, list[Operation]]:
    """Every operation of the document, by tag, in the document's order."""
    groups: dict[str, list[Operation]] = {}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            anchor = op.get("operationId") or f"{method}-{path}"
            groups.setdefault((op.get("tags") or ["other"])[0], []).append(Operation(
                method.upper(), path, op.get("summary", ""), op.get("description", ""),
                anchor, _fields(doc, op),
                [(code, r.get("description", "")) for code, r in op.get("responses", {}).items()]))
    return groups


@router.get("/api/docs")
def api_docs(request: Request) -> Response:
    """The reference of every API route, from the same OpenAPI document scripts can read."""
    app: FastAPI = request.app
    doc = app.openapi()
    return render(request, "api_docs.html", info=doc["info"], groups=operations(doc),
                  openapi_url=app.openapi_url)


def code_spans(text: str) -> Markup:
    """Escaped text with its `code` spans as <code> (the descriptions' only markup)."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))  # noqa: S704 (escaped first)


TEMPLATES.env.filters["code_spans"] = code_spans
