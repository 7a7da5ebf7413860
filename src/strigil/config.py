"""Settings read from the environment (prefix ``STRIGIL_``); the only module that reads it.

Only the web and CLI adapters import this module; they pass values down to services.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    """Deployment configuration. Clinical thresholds live in ``core/catalog/thresholds.json``."""

    model_config = SettingsConfigDict(env_prefix="STRIGIL_", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"), description="Where the SQLite file and backups live"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file in data_dir"
    )
    sensors_force_caps: dict[str, float] = Field(
        default_factory=dict,
        description='Peak-force cap (N) per capped intensity, e.g. {"gentle": 3.5}; '
        "default and rationale in sensors/force_caps.json",
    )
    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins on one account from one address before each further "
        "attempt must wait (1 s, doubling); never a lock",
    )
    login_lockout_minutes: int = Field(
        default=15, ge=1, description="The longest wait the sign-in throttle imposes"
    )
    login_rate_limit: int = Field(
        default=10,
        ge=1,
        description="Failed sign-ins from one client address, whichever accounts, before it "
        "must wait (the window, doubling with each further failure)",
    )
    login_rate_window_seconds: int = Field(
        default=60, ge=1, description="The first wait of an address over its allowance"
    )
    max_running_requests: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Requests served at once per process; default 1 on SQLite, 4 on PostgreSQL",
    )
    max_queued_requests: int = Field(
        default=256, ge=0, description="Requests that may wait for a turn; beyond, 503 at once"
    )
    queue_wait_seconds: float = Field(
        default=10.0, gt=0, description="Longest wait for a turn before answering 503"
    )
    admin_database_url: str | None = Field(
        default=None,
        description="Owner URL for migrations and `strigil db`; default: the database URL",
    )
    refuse_owner_login: bool = Field(
        default=False,
        description="Refuse to start when the database URL's role is the owner, a superuser "
        "or exempt from row-level security (otherwise the server only warns)",
    )
    checkin_link_hours: int = Field(
        default=72,
        ge=1,
        le=720,
        description="How long a patient's 48-hour check-in link stays open after it is issued",
    )
    patient_link_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="How long a patient's questionnaire or progress link stays open after it "
        "is issued (issue 18: default 7 days)",
    )
    patient_link_max_failures: int = Field(
        default=10,
        ge=1,
        description="Wrong or expired patient-link attempts from one client address before "
        "each further attempt must wait (a minute, doubling)",
    )
    smtp_host: str | None = Field(
        default=None,
        description="Mail server that delivers patient-link emails; unset: links are only shown "
        "to print or read out",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = Field(default=None, description="Login for the mail server, if any")
    smtp_password: SecretStr | None = Field(default=None)
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls (port 587), tls (implicit, port 465) or none (a local relay only)",
    )
    smtp_from: str | None = Field(
        default=None, description="The From address of patient-link emails"
    )
    smtp_timeout_seconds: float = Field(default=15.0, gt=0)
    outbox_max_attempts: int = Field(
        default=6, ge=1, le=30, description="Delivery attempts before an email is marked failed"
    )
    outbox_first_retry_seconds: int = Field(
        default=60, ge=1, description="Pause after the first failed attempt (doubling each time)"
    )
    instrument_translations: Path | None = Field(
        default=None,
        description="Folder of the clinic's checked questionnaire translations (JSON packs, "
        "docs/instrument-translations.md), read at start-up; a pack that fails its check stops "
        "the start. Unset: published instruments are shown in English",
    )
    cookie_secure: bool = Field(default=False, description="Set true behind HTTPS")
    log_level: LogLevel = Field(
        default="INFO",
        description="Least severe log records `strigil serve` writes, Strigil's and the web "
        "server's alike; INFO and DEBUG include one access line per request",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_capitals(cls, value: object) -> object:
        """``warning`` means WARNING, as it does to the logging module's users."""
        return value.upper() if isinstance(value, str) else value

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``<data_dir>/strigil.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'strigil.db').as_posix()}"

    @property
    def smtp_configured(self) -> bool:
        """Whether patient links may be offered by email."""
        return bool(self.smtp_host and self.smtp_from)

    @property
    def resolved_admin_database_url(self) -> str:
        """The owner's URL for migrations and admin commands (default: the app's URL)."""
        return self.admin_database_url or self.resolved_database_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
