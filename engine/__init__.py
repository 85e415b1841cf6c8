"""cfql: SQL for cloud APIs.

    from cfql import connect
    with connect(sandbox=True) as conn:
        rows = conn.execute("SHOW METHODS IN cloudflare.realtime_kit.meetings")
"""

from cfql.connection import (
    Connection,
    Cursor,
    apilevel,
    connect,
    paramstyle,
    threadsafety,
)
from cfql.errors import (
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
from cfql.result import Result

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
        from cfql.aio import AsyncConnection

        return AsyncConnection
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
