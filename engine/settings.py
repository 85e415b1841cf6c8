"""Connection settings shared by the CLI, the shell and the library."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Settings:
    """Everything a connection needs; ``None`` means "from the environment or the manifest"."""

    token: str | None = None
    api_key: str | None = None
    email: str | None = None
    base_url: str | None = None
    sandbox: bool = False
    timeout: float = 60.0
    retries: int = 2
    rate_limit: str | None = None  # "N/SECONDS" or "0" for none; None: each provider's own (x-cfql-config)
    concurrency: int = 1
    dry_run: bool = False
    debug: bool = False

    def __repr__(self) -> str:  # never show credentials, even in a debugger or a log
        hidden = {"token", "api_key"}
        shown = ", ".join(
            f"{k}={'***' if k in hidden and v else repr(v)}" for k, v in self.__dict__.items()
        )
        return f"Settings({shown})"
