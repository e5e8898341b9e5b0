"""Pick the mail transport the settings ask for."""

from __future__ import annotations

from herald.channels.mail import MaildirTransport, MailTransport, SmtpTransport
from herald.settings import Settings


def mail_transport(settings: Settings) -> MailTransport:
    """Maildir under HERALD_HOME (the default: nothing leaves) or the configured SMTP server."""
    if settings.mail_transport == "smtp":
        return SmtpTransport(
            host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout=settings.smtp_timeout)
    return MaildirTransport(settings.home / "maildir")
