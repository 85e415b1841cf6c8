"""cfql: SQL for cloud APIs.

    from cfql import connect
    with connect(sandbox=True) as conn:
        rows = conn.execute("SHOW PROVIDERS")

    result = cfql.deploy.build("my-stack", "dev", sandbox=True)   # stackql-deploy stacks

The public surface is what ``__all__`` lists; everything else is internal.
"""

from __future__ import annotations

import typing as t

from cfql.connection import (
    Connection,
    Cursor,
    apilevel,
    connect,
    paramstyle,
    threadsafety,
)
from cfql.errors import (
    APIAuthenticationError,
    APIConflictError,
    APIDataError,
    APIError,
    APIOutcomeUnknownError,
    APIStatusError,
    CredentialsError,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    Interrupted,
    NotSent,
    NotSupportedError,
    OperationalError,
    OutcomeUnknownError,
    PaginationCapWarning,
    ProgrammingError,
    ResolutionError,
    SchemaWarning,
    SQLSyntaxError,
    StackError,
    StackWarning,
    TemplateError,
    UnboundParameterError,
    Warning,
)
from cfql.result import ElementOutcome, Result
from cfql.settings import Settings

if t.TYPE_CHECKING:
    from cfql.aio import AsyncConnection, AsyncCursor

__all__ = [
    "APIAuthenticationError",
    "APIConflictError",
    "APIDataError",
    "APIError",
    "APIOutcomeUnknownError",
    "APIStatusError",
    "AsyncConnection",
    "AsyncCursor",
    "Connection",
    "CredentialsError",
    "Cursor",
    "DataError",
    "DatabaseError",
    "ElementOutcome",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "Interrupted",
    "NotSent",
    "NotSupportedError",
    "OperationalError",
    "OutcomeUnknownError",
    "PaginationCapWarning",
    "ProgrammingError",
    "ResolutionError",
    "Result",
    "SQLSyntaxError",
    "SchemaWarning",
    "Settings",
    "StackError",
    "StackWarning",
    "TemplateError",
    "UnboundParameterError",
    "Warning",
    "apilevel",
    "connect",
    "deploy",
    "paramstyle",
    "threadsafety",
]


def __getattr__(name: str) -> object:
    """``cfql.AsyncConnection`` and ``cfql.deploy`` without importing asyncio or the deploy code for every CLI start."""
    if name in ("AsyncConnection", "AsyncCursor"):
        from cfql import aio

        return getattr(aio, name)
    if name == "deploy":
        import importlib

        return importlib.import_module("cfql.deploy")
    raise AttributeError(f"module 'cfql' has no attribute {name!r}")
