"""cfql: SQL for cloud APIs.

    from engine import connect
    with connect(sandbox=True) as conn:
        rows = conn.execute("SHOW METHODS IN cloudflare.realtime_kit.meetings")
"""

from engine.connection import (
    Connection,
    Cursor,
    apilevel,
    connect,
    paramstyle,
    threadsafety,
)
from engine.errors import (
    APIError,
    CredentialsError,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    ResolutionError,
    SQLSyntaxError,
    Warning,
)
from engine.result import Result

__all__ = [
    "APIError",
    "Connection",
    "CredentialsError",
    "Cursor",
    "DataError",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "ResolutionError",
    "Result",
    "SQLSyntaxError",
    "Warning",
    "apilevel",
    "connect",
    "paramstyle",
    "threadsafety",
]


def __getattr__(name: str) -> object:
    """``engine.AsyncConnection`` without importing asyncio for every CLI start."""
    if name == "AsyncConnection":
        from engine.aio import AsyncConnection

        return AsyncConnection
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
