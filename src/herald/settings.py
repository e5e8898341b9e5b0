"""Herald's one settings object, read from HERALD_* variables and an optional herald.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """Configuration; nothing reads it at import time, callers build it at the edge."""

    model_config = SettingsConfigDict(env_prefix="HERALD_", toml_file="herald.toml", extra="ignore")

    home: Path = Field(default=Path("herald-data"), description="Data folder (SQLite, files).")
    database_url: SecretStr | None = Field(
        default=None, description="SQLAlchemy URL; unset means SQLite in HERALD_HOME."
    )
    user: str | None = Field(default=None, description="Acting person's email for the CLI.")
    host: str = Field(default="127.0.0.1", description="Address `herald serve` listens on.")
    port: int = Field(default=8400, description="Port `herald serve` listens on.")
    base_url: str | None = Field(default=None, description="Public URL of this Herald.")
    secret_key: SecretStr | None = Field(
        default=None, description="Signs sessions; generated into HERALD_HOME when unset."
    )
    support_address: str = Field(
        default="support@example.com", description="Support address copied on customer email."
    )
    disclosure_warning_hours: float = Field(
        default=12, description="Warn when a disclosure deadline is this close."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest level of log lines written (DEBUG adds health checks)."
    )
    log_format: Literal["json", "text"] = Field(
        default="json", description="json: one JSON object per line; text: for reading by eye."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token /metrics requires; unset means loopback clients only.",
    )
    worker_stale_seconds: float = Field(
        default=120, description="A worker silent this long makes /healthz fail."
    )
    templates: Path | None = Field(
        default=None, description="Folder of the team's templates; they override the defaults."
    )
    vocabulary: list[str] = Field(
        default_factory=list, description="Product and customer words the spell check accepts."
    )
    status_page_threshold: float = Field(
        default=50, ge=50, le=80,
        description="Impacted share (percent, 50-80) of self-hosted or cloud customers above "
                    "which the status page is recommended.",
    )
    status_page_name: str = Field(default="Service status",
                                  description="Name shown on the public status page.")
    status_page_id: str = Field(default="herald", description="The page id in the status "
                                "page's JSON (Statuspage v2 `page.id`).")
    status_page_url: str | None = Field(
        default=None, description="Public URL of the status page, if it is hosted apart "
                                  "(default: HERALD_BASE_URL/status/).")
    status_max_age: int = Field(default=30, ge=0, le=3600, description="Seconds browsers and "
                                "proxies may cache the public status page (Cache-Control).")
    status_export_dir: Path | None = Field(
        default=None, description="Folder the public status page is written to as static "
                                  "files after every change (unset: no export).")
    statuspage_provider: Literal["builtin", "atlassian", "incidentio"] = Field(
        default="builtin", description="Where status posts go besides the built-in page: "
                                       "builtin (nowhere else), atlassian or incidentio.")
    statuspage_api_key: SecretStr | None = Field(
        default=None, description="Atlassian Statuspage API key (Authorization: OAuth).")
    statuspage_page_id: str | None = Field(default=None,
                                           description="Atlassian Statuspage page id.")
    statuspage_base_url: str = Field(default="https://api.statuspage.io/",
                                     description="Atlassian Statuspage API base URL.")
    incidentio_api_key: SecretStr | None = Field(
        default=None, description="incident.io API key (Authorization: Bearer).")
    incidentio_status_page_id: str | None = Field(default=None,
                                                  description="incident.io status page id.")
    incidentio_base_url: str = Field(default="https://api.incident.io/",
                                     description="incident.io API base URL.")
    incidentio_notify: Literal["all", "first_and_last", "none"] = Field(
        default="first_and_last", description="Which incident.io posts notify the page's "
                                              "subscribers.")
    status_component_ids: dict[str, str] = Field(
        default_factory=dict, description="Hosted status page component id of each Herald "
                                          "component code (unset: the code itself).")
    mail_transport: Literal["maildir", "smtp"] = Field(
        default="maildir", description="maildir keeps mail in HERALD_HOME/maildir (nothing "
                                       "leaves); smtp sends through the server below.")
    smtp_host: str = Field(default="localhost", description="SMTP server.")
    smtp_port: int = Field(default=587, description="SMTP port.")
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", description="How the SMTP connection is secured.")
    smtp_username: str | None = Field(default=None, description="SMTP login, if needed.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_timeout: float = Field(default=30, description="Seconds to wait for the SMTP server.")
    mail_pool: int = Field(default=8, ge=1, le=32, description="SMTP connections per worker.")
    mail_per_minute: int | None = Field(
        default=None, description="Provider quota: recipients (To + Cc) per minute.")
    mail_per_day: int | None = Field(
        default=None, description="Provider quota: recipients (To + Cc) per day.")
    chat_transport: Literal["manual", "slack"] = Field(
        default="manual", description="manual shows each message to paste; slack posts it.")
    slack_token: SecretStr | None = Field(default=None, description="Slack bot token.")
    slack_signing_secret: SecretStr | None = Field(
        default=None, description="Verifies requests Slack sends to /slack/events.")
    slack_base_url: str = Field(default="https://slack.com/api/",
                                description="Slack Web API base URL.")
    slack_timeout: float = Field(default=10, gt=0, le=120,
                                 description="Seconds to wait for Slack's Web API.")
    slack_read_token: SecretStr | None = Field(
        default=None, description="Token that reads the incident channel (conversations."
                                  "history / .replies); unset: the bot token.")
    review_remind_minutes: float = Field(
        default=30, gt=0, description="Reviewers who have not answered are reminded after "
                                      "this many minutes, at most once per interval.")
    chat_channels: dict[str, str] = Field(
        default_factory=lambda: {
            "support": "#support", "support_internal": "#support-internal",
            "incidents": "#incidents", "security": "#security", "marketing": "#marketing",
            "legal": "#legal", "ce": "#ce",
        },
        description="Channel for each purpose; the incident's own channel is its link.",
    )
    inbound_secret: SecretStr | None = Field(
        default=None, description="Shared secret the mail system sends (X-Herald-Inbound-"
                                  "Secret) when it posts customer replies to Herald.")
    followup_close_days: float = Field(
        default=3, description="Quiet follow-ups (no reply) close after this many days.")
    followup_answer_hours: float = Field(
        default=24, gt=0, description="A customer reply still unanswered after this many hours "
                                      "gets a reminder in the incident channel (then again "
                                      "every as many hours).")
    tickets: Literal["builtin", "zendesk"] = Field(
        default="builtin", description="Where follow-ups live: builtin (Herald's own items) "
                                       "or zendesk (a ticket per customer email).")
    tickets_sync_seconds: float = Field(
        default=60, ge=5, description="How often the worker syncs the support desk.")
    zendesk_url: str | None = Field(
        default=None, description="Zendesk base URL, e.g. https://example.zendesk.com.")
    zendesk_email: str | None = Field(
        default=None, description="The Zendesk agent the API token belongs to.")
    zendesk_token: SecretStr | None = Field(
        default=None, description="Zendesk API token ({email}/token:{token} Basic auth).")
    zendesk_timeout: float = Field(default=15, gt=0, le=120,
                                   description="Seconds to wait for Zendesk's API.")
    zendesk_grace_minutes: float = Field(
        default=15, ge=0, description="How long to wait for the support copy of an email to "
                                      "become a ticket before Herald creates one itself.")
    imap_host: str | None = Field(
        default=None, description="IMAP server polled for customer replies (unset: no "
                                  "polling; replies arrive by the inbound endpoint).")
    imap_port: int = Field(default=993, description="IMAP port.")
    imap_security: Literal["ssl", "starttls", "none"] = Field(
        default="ssl", description="How the IMAP connection is secured.")
    imap_username: str | None = Field(default=None, description="IMAP login.")
    imap_password: SecretStr | None = Field(default=None, description="IMAP password.")
    imap_folder: str = Field(default="INBOX", description="Mailbox folder read for replies.")
    imap_done_folder: str | None = Field(
        default=None, description="Folder replies are moved to once read (unset: they are "
                                  "only flagged \\Seen).")
    imap_poll_seconds: float = Field(default=60, ge=5,
                                     description="How often the worker polls the mailbox.")
    mentions: dict[str, str] = Field(
        default_factory=lambda: {
            "support_team": "@support", "cs_leadership": "@cs-leadership",
            "cs_triage": "@cs-triage", "security_team": "@security-team",
            "ce_team": "@ce", "marketing": "@marketing-incident", "legal": "@legal-team",
        },
        description="How each group is mentioned in chat messages.",
    )

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        """HERALD_LOG_LEVEL=info and HERALD_LOG_FORMAT=JSON are meant kindly; accept them."""
        if not isinstance(value, str):
            return value
        return value.strip().upper() if value.strip().lower() in {
            "debug", "info", "warning", "error"} else value.strip().lower()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment wins over herald.toml."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    def sqlalchemy_url(self) -> str:
        """The database URL to connect to, defaulting to SQLite inside HERALD_HOME."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.home / 'herald.db').resolve()}"
