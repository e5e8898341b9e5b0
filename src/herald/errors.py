"""Errors Herald reports to people: each says what is wrong in one line."""


class HeraldError(Exception):
    """Base of every error a user may see; its message is the whole explanation."""

    status = 400


class InvalidInput(HeraldError):
    """The request names a value Herald cannot accept (bad email, bad number, ...)."""

    status = 422


class NotFound(HeraldError):
    """The thing referred to does not exist (or is not visible to the actor)."""

    status = 404


class Conflict(HeraldError):
    """The change was made against stale data or clashes with existing data."""

    status = 409


class Refused(HeraldError):
    """The handbook's rules forbid this action now (order, security gate, sign-off)."""

    status = 409


class Forbidden(HeraldError):
    """The actor may not do this."""

    status = 403
