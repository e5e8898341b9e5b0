"""Server-rendered pages (forms work without JavaScript)."""

from fastapi import APIRouter

from herald.web.pages import auth, dashboard

router = APIRouter()
for module in (auth, dashboard):
    router.include_router(module.router)
