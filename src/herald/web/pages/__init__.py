"""Server-rendered pages (forms work without JavaScript)."""

from fastapi import APIRouter

from herald.web.pages import (
    account,
    admin,
    auth,
    ce_round,
    checklist,
    contact_import,
    contacts,
    dashboard,
    drafts,
    followup,
    header,
    messages,
    plan,
    record,
    reviews,
    search,
    sends,
    status_tab,
    timeline,
)

router = APIRouter()
for module in (auth, dashboard, search, checklist, header, plan, timeline, record, admin,
               account):
    router.include_router(module.router)
for module in (contacts, contact_import, ce_round):  # the customer list and the CE round
    router.include_router(module.router)
router.include_router(drafts.router)
router.include_router(status_tab.router)  # the incident's status page tab
router.include_router(sends.router)
router.include_router(followup.router)  # replies, FAQ, post-mortems, wrap-up
for module in (reviews, messages):  # step 14's reviews and the internal chat messages
    router.include_router(module.router)
