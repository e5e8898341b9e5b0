"""Accounts: users, password login with rate limiting, browser sessions and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from herald.domain.access import AccountRole, Viewer, parse_account_roles
from herald.domain.incident import normalize_email
from herald.errors import Conflict, Forbidden, HeraldError, InvalidInput, NotFound
from herald.services.common import audit
from herald.services.context import Herald
from herald.store.models import ApiToken, LoginAttempt, SetupToken, User, WebSession

SESSION_DAYS = 14
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_MAX_FAILURES = 5
MIN_PASSWORD = 10
_hasher = PasswordHasher()


class TooManyAttempts(HeraldError):
    """Login refused for a while after repeated failures."""

    status = 429


@dataclass(frozen=True)
class Account:
    """An account as the rest of Herald sees it (never the password hash)."""

    id: int
    email: str
    name: str
    roles: tuple[str, ...]
    active: bool

    @property
    def viewer(self) -> Viewer:
        """The need-to-know identity of this account."""
        return Viewer(email=self.email, roles=frozenset(self.roles))


def _account(u: User) -> Account:
    return Account(id=u.id, email=u.email, name=u.name, roles=tuple(u.roles), active=u.active)


def digest(token: str) -> str:
    """Tokens are stored as SHA-256 digests; a stolen database holds no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(f"the password needs at least {MIN_PASSWORD} characters")


def create_user(
    h: Herald, *, email: str, name: str, roles: list[str], password: str, actor: str
) -> Account:
    """Add a local account."""
    with h.db.transaction() as s:
        return _insert_user(s, h.clock.now(), email=email, name=name, roles=roles,
                            password=password, actor=actor)


def _insert_user(
    s: Session, now: datetime, *, email: str, name: str, roles: list[str], password: str,
    actor: str,
) -> Account:
    email = account_email(email)
    role_list = parse_account_roles(roles) or [AccountRole.VIEWER.value]
    _check_password(password)
    if s.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise Conflict(f"an account for {email} already exists")
    user = User(email=email, name=(name or "").strip(), roles=role_list, active=True,
                password_hash=_hasher.hash(password), created_at=now)
    s.add(user)
    s.flush()
    audit(s, at=now, actor=actor, action="user.created", target=email,
          after={"roles": role_list, "name": user.name})
    return _account(user)


def update_user(
    h: Herald, email: str, *, actor: str, roles: list[str] | None = None,
    active: bool | None = None, name: str | None = None,
) -> Account:
    """Change an account's roles, name or active flag."""
    now = h.clock.now()
    with h.db.transaction() as s:
        user = _user(s, email)
        before = {"roles": list(user.roles), "active": user.active, "name": user.name}
        if roles is not None:
            user.roles = parse_account_roles(roles) or [AccountRole.VIEWER.value]
        if active is not None:
            user.active = active
            if not active:
                s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        if name is not None:
            user.name = name.strip()
        after = {"roles": list(user.roles), "active": user.active, "name": user.name}
        if after != before:
            audit(s, at=now, actor=actor, action="user.updated", target=user.email,
                  before=before, after=after)
        return _account(user)


def set_password(h: Herald, email: str, password: str, *, actor: str) -> None:
    """Set a new password; every browser session of the account is signed out."""
    _check_password(password)
    now = h.clock.now()
    with h.db.transaction() as s:
        user = _user(s, email)
        user.password_hash = _hasher.hash(password)
        s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        audit(s, at=now, actor=actor, action="user.password", target=user.email)


def list_users(h: Herald) -> list[Account]:
    """All accounts by email."""
    with h.db.sessions() as s:
        return [_account(u) for u in s.scalars(select(User).order_by(User.email))]


def get_user(h: Herald, email: str) -> Account:
    """One account by email."""
    with h.db.sessions() as s:
        return _account(_user(s, email))


def account_email(text: str) -> str:
    """An account's email as it is stored and looked up: checked, then lower-cased whole
    (people type their address in any case; signing in must not depend on it)."""
    return normalize_email(text).lower()


def _user(s: Session, email: str) -> User:
    # lower(): accounts made before addresses were stored lower-cased still match
    user = s.scalar(select(User).where(func.lower(User.email) == account_email(email)))
    if user is None:
        raise NotFound(f"no account {email!r}")
    return user


def log_in(h: Herald, *, email: str, password: str, ip: str) -> tuple[str, Account]:
    """Check a password; returns a new session token. Repeated failures are slowed down."""
    now = h.clock.now()
    key = (email or "").strip().lower()
    with h.db.transaction() as s:
        s.execute(delete(LoginAttempt).where(LoginAttempt.at < now - LOGIN_WINDOW))
        failures = s.scalar(select(func.count()).select_from(LoginAttempt).where(
            (LoginAttempt.email == key) | (LoginAttempt.ip == ip))) or 0
        if failures >= LOGIN_MAX_FAILURES:
            raise TooManyAttempts("too many failed logins; wait 15 minutes and try again")
        user = s.scalar(select(User).where(func.lower(User.email) == key))
        if user is None or not user.active or not _verify(user.password_hash, password):
            s.add(LoginAttempt(email=key, ip=ip, at=now))
            failed = True
        else:
            failed = False
            token = secrets.token_urlsafe(32)
            s.add(WebSession(token_hash=digest(token), user_id=user.id,
                             csrf_token=secrets.token_urlsafe(32), created_at=now,
                             expires_at=now + timedelta(days=SESSION_DAYS)))
            audit(s, at=now, actor=user.email, action="user.login", target=ip)
            account = _account(user)
    if failed:  # outside the transaction, so the failed attempt is committed
        raise Forbidden("wrong email or password")
    return token, account


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def session_account(h: Herald, token: str | None) -> tuple[Account, str] | None:
    """The account and CSRF token of a browser session, or None when absent or expired."""
    if not token:
        return None
    with h.db.sessions() as s:
        row = s.execute(select(WebSession, User).join(User, User.id == WebSession.user_id)
                        .where(WebSession.token_hash == digest(token))).first()
        if row is None:
            return None
        web, user = row
        if web.expires_at <= h.clock.now() or not user.active:
            return None
        return _account(user), web.csrf_token


def log_out(h: Herald, token: str) -> None:
    """End a browser session."""
    with h.db.transaction() as s:
        s.execute(delete(WebSession).where(WebSession.token_hash == digest(token)))


def create_api_token(h: Herald, email: str, name: str, *, actor: str) -> str:
    """Make a token for scripts; the plain token is returned once and never stored."""
    name = (name or "").strip() or "script"
    token = "hrld_" + secrets.token_urlsafe(32)
    now = h.clock.now()
    with h.db.transaction() as s:
        user = _user(s, email)
        s.add(ApiToken(user_id=user.id, name=name[:100], token_hash=digest(token),
                       prefix=token[:12], created_at=now))
        audit(s, at=now, actor=actor, action="token.created", target=user.email, after=name)
    return token


def revoke_api_token(h: Herald, token_id: int, *, actor: str) -> None:
    """Revoke a token (the owner or an admin)."""
    now = h.clock.now()
    with h.db.transaction() as s:
        tok = s.get(ApiToken, token_id)
        if tok is None or tok.revoked_at is not None:
            raise NotFound(f"no active token {token_id}")
        owner = s.get(User, tok.user_id)
        account = s.scalar(select(User).where(func.lower(User.email) == actor.lower()))
        if owner is None or account is None or (
                owner.id != account.id and AccountRole.ADMIN.value not in account.roles):
            raise NotFound(f"no active token {token_id}")
        tok.revoked_at = now
        audit(s, at=now, actor=actor, action="token.revoked", target=owner.email, after=tok.name)


def list_api_tokens(h: Herald, email: str) -> list[dict[str, object]]:
    """An account's tokens (names, prefixes, dates; never the token)."""
    with h.db.sessions() as s:
        user = _user(s, email)
        rows = s.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                         .order_by(ApiToken.id)).all()
        return [{"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": t.created_at,
                 "last_used_at": t.last_used_at, "revoked_at": t.revoked_at} for t in rows]


def token_account(h: Herald, token: str) -> Account | None:
    """The account behind an API token, or None."""
    now = h.clock.now()
    with h.db.transaction() as s:
        row = s.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                        .where(ApiToken.token_hash == digest(token),
                               ApiToken.revoked_at.is_(None))).first()
        if row is None or not row[1].active:
            return None
        tok, user = row
        if tok.last_used_at is None or now - tok.last_used_at > timedelta(minutes=5):
            tok.last_used_at = now  # coarse, so busy scripts do not write on every call
        return _account(user)


def setup_link_token(h: Herald) -> str | None:
    """When no account exists yet, a fresh one-time token for the first-admin setup page."""
    now = h.clock.now()
    with h.db.transaction() as s:
        if s.scalar(select(func.count()).select_from(User)):
            return None
        token = secrets.token_urlsafe(24)
        s.add(SetupToken(token_hash=digest(token), created_at=now))
        return token


def complete_setup(
    h: Herald, token: str, *, email: str, name: str, password: str
) -> Account:
    """Use the one-time setup token to create the first admin account."""
    now = h.clock.now()
    with h.db.transaction() as s:
        row = s.scalar(select(SetupToken).where(SetupToken.token_hash == digest(token or ""),
                                                SetupToken.used_at.is_(None)))
        if row is None or s.scalar(select(func.count()).select_from(User)):
            raise NotFound("this setup link is not valid any more")
        row.used_at = now
        return _insert_user(s, now, email=email, name=name, roles=[AccountRole.ADMIN.value],
                            password=password, actor=account_email(email))
