"""The JSON API under /api/v1/: the same actions as the pages, for scripts and tools."""

from fastapi import APIRouter, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPBearer

from herald.web.api import (
    account,
    chat,
    contacts,
    followup,
    header,
    inbound,
    incidents,
    plan,
    reviews,
    sends,
    status_posts,
    steps,
    timeline,
)
from herald.web.security import SESSION_COOKIE


def _operation_id(route: APIRoute) -> str:
    return route.name  # function names are unique across the API: stable client method names


# Declared for the OpenAPI document (and the docs' Authorize button); the actual checks are
# in herald.web.security, which these do not replace.
_bearer = HTTPBearer(auto_error=False, scheme_name="token",
                     description="An API token: `Authorization: Bearer hrld_...`.")
_session = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="session",
                        description="A browser session; unsafe methods also need the "
                                    "`X-CSRF-Token` header.")

router = APIRouter(prefix="/api/v1", generate_unique_id_function=_operation_id,
                   dependencies=[Security(_bearer), Security(_session)])
for module in (incidents, header, steps, plan, timeline, contacts, account, sends):
    router.include_router(module.router)
router.include_router(status_posts.router)  # the incident's status page posts
for module in (reviews, chat):  # step 14's reviews and the internal chat messages
    router.include_router(module.router)
router.include_router(followup.router)  # replies, FAQ, post-mortems, the wrap-up summary

# Routes that authenticate themselves (a shared secret), outside the session/token scheme.
_inbound_secret = APIKeyHeader(name="X-Herald-Inbound-Secret", auto_error=False,
                               scheme_name="inbound_secret",
                               description="The shared secret of HERALD_INBOUND_SECRET.")
machine = APIRouter(prefix="/api/v1", generate_unique_id_function=_operation_id,
                    dependencies=[Security(_inbound_secret)])
machine.include_router(inbound.router)
