"""People: admins list, add and change accounts; everyone else gets a 404 here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from herald.errors import NotFound
from herald.services import accounts
from herald.web.pages.common import ACCOUNT_ROLES
from herald.web.render import redirect, render
from herald.web.security import Caller, check_csrf, herald_of, require_caller

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]


async def admin_caller(
    request: Request, caller: Annotated[Caller, Depends(require_caller)]
) -> Caller:
    """An admin (others see no such page), with the CSRF token checked on changes."""
    if not caller.account.viewer.is_admin:
        raise NotFound("not found")
    await check_csrf(request)
    return caller


Admin = Annotated[Caller, Depends(admin_caller)]


@router.get("/admin/users")
def users_page(request: Request, caller: Admin) -> Response:
    """Every account with its roles, and a form to add one."""
    return render(request, "admin_users.html", users=accounts.list_users(herald_of(request)),
                  account_roles=ACCOUNT_ROLES)


@router.post("/admin/users")
def create_user(
    request: Request, caller: Admin, email: Text, password: Text, name: Text = "",
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Add an account with an initial password."""
    made = accounts.create_user(herald_of(request), email=email, name=name, roles=roles or [],
                                password=password, actor=caller.account.email)
    return redirect(request, "/admin/users",
                    message=f"Account {made.email} added. Give them the password in person.")


@router.post("/admin/users/roles")
def change_roles(
    request: Request, caller: Admin, email: Text,
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Replace an account's roles (none given means viewer)."""
    if email.strip().lower() == caller.account.email.lower() and "admin" not in (roles or []):
        return redirect(request, "/admin/users",
                        error="You cannot remove your own admin role; ask another admin.")
    changed = accounts.update_user(herald_of(request), email, roles=roles or [],
                                   actor=caller.account.email)
    return redirect(request, "/admin/users",
                    message=f"{changed.email}: {', '.join(changed.roles)}.")


@router.post("/admin/users/active")
def change_active(
    request: Request, caller: Admin, email: Text, active: Annotated[bool, Form()] = False,
) -> Response:
    """Deactivate (signs them out everywhere) or reactivate an account."""
    if email.strip().lower() == caller.account.email.lower() and not active:
        return redirect(request, "/admin/users", error="You cannot deactivate yourself.")
    changed = accounts.update_user(herald_of(request), email, active=active,
                                   actor=caller.account.email)
    state = "active again" if changed.active else "deactivated and signed out"
    return redirect(request, "/admin/users", message=f"{changed.email} is {state}.")
