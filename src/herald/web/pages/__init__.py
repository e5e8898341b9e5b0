"""Server-rendered pages (forms work without JavaScript)."""

from fastapi import APIRouter

from herald.web.pages import (
    account,
    admin,
    auth,
    checklist,
    dashboard,
    header,
    plan,
    record,
    search,
    timeline,
)

router = APIRouter()
for module in (auth, dashboard, search, checklist, header, plan, timeline, record, admin,
               account):
    router.include_router(module.router)
