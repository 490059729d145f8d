"""Typed settings, read from the environment with the prefix KLARVARSEL_ (and a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything configurable; the defaults are the embedded, credential-free set-up."""

    model_config = SettingsConfigDict(env_prefix="KLARVARSEL_", env_file=".env", extra="ignore")

    var_dir: Path = PROJECT_ROOT / "var"
    database_url: str = Field(
        default="", description="SQLAlchemy URL; empty means SQLite at var/klarvarsel.sqlite3"
    )
    content_dir: Path = Field(
        default=PROJECT_ROOT,
        description="folder holding audiences/, message_templates/ and locales/",
    )
    timezone: str = "Europe/Stockholm"
    municipality_name: str = "Västerås stad"
    public_base_url: str = "http://127.0.0.1:8000"

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or the SQLite file under var/."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_dir / 'klarvarsel.sqlite3'}"

    @property
    def audiences_dir(self) -> Path:
        """Folder of audience profile TOML files."""
        return self.content_dir / "audiences"

    @property
    def templates_dir(self) -> Path:
        """Folder of scenario folders and shared layouts."""
        return self.content_dir / "message_templates"

    @property
    def locales_dir(self) -> Path:
        """Folder of gettext catalogs and the language registry."""
        return self.content_dir / "locales"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache to change them)."""
    return Settings()
