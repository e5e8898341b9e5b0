"""The caller's own account: who am I, and my API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from herald.domain.access import can_open_incidents
from herald.services import accounts
from herald.web.api.common import Input, Writer, errors
from herald.web.deps import SignedIn
from herald.web.security import herald_of

router = APIRouter(tags=["account"])


class Me(BaseModel):
    """The signed-in account."""

    id: int
    email: str
    name: str
    roles: list[str] = Field(description="Account roles: admin, support, support_leadership, "
                             "security, account_team, reviewer, viewer.")
    may_open_incidents: bool
    signed_in_with: Literal["token", "session"]


class TokenView(BaseModel):
    """An API token as it is listed: never the token itself."""

    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class NewToken(TokenView):
    """A token just made: `token` is shown this once and never again."""

    token: str = Field(description="Send as `Authorization: Bearer <token>`. Store it now.")


class TokenIn(Input):
    """What the token is for."""

    name: str = Field(min_length=1, max_length=100, description="What the token is for.",
                      examples=["status bot"])


@router.get("/me", summary="Who am I", responses=errors())
def me(caller: SignedIn) -> Me:
    """The signed-in account, its roles and how it signed in."""
    a = caller.account
    return Me(id=a.id, email=a.email, name=a.name, roles=list(a.roles),
              may_open_incidents=can_open_incidents(a.viewer),
              signed_in_with="session" if caller.csrf else "token")


@router.get("/tokens", summary="List my API tokens", responses=errors())
def list_tokens(request: Request, caller: SignedIn) -> list[TokenView]:
    """Your tokens, revoked ones included (names, prefixes and dates only)."""
    rows = accounts.list_api_tokens(herald_of(request), caller.account.email)
    return [TokenView.model_validate(r) for r in rows]


@router.post("/tokens", status_code=201, summary="Make an API token",
             responses=errors(400, 403, 422))
def create_token(request: Request, caller: Writer, body: TokenIn) -> NewToken:
    """Make a token for a script. The response holds the token: the only time it is shown."""
    h = herald_of(request)
    email = caller.account.email
    token = accounts.create_api_token(h, email, body.name, actor=email)
    row = next(r for r in reversed(accounts.list_api_tokens(h, email))
               if r["prefix"] == token[:12])
    return NewToken.model_validate({**row, "token": token})


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke an API token",
               responses=errors(403, 404, 422, e404="No active token with that id among yours "
                                "(admins may revoke anyone's)."))
def revoke_token(
    request: Request, caller: Writer,
    token_id: Annotated[int, Path(description="The token's id from the list.")],
) -> Response:
    """Revoke one of your tokens (admins: anyone's). Scripts using it get 401 from then on."""
    accounts.revoke_api_token(herald_of(request), token_id, actor=caller.account.email)
    return Response(status_code=204)

