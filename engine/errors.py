"""cfql's exceptions, arranged as PEP 249 asks so DB-API code can catch them.

Every message is one line a user can act on; the CLI prints ``str(error)``
and nothing else unless ``--debug`` is given.
"""

from __future__ import annotations


class Warning(Exception):  # noqa: A001 - the name PEP 249 prescribes
    """Important warnings (PEP 249)."""


class Error(Exception):
    """Base class of every cfql error (PEP 249)."""


class InterfaceError(Error):
    """Misuse of the library itself, e.g. a closed connection or cursor."""


class DatabaseError(Error):
    """Errors about the statement or the API behind it."""


class DataError(DatabaseError):
    """A value was rejected by the method's schema before any request was sent."""


class OperationalError(DatabaseError):
    """The API or the network failed: HTTP errors, timeouts, missing credentials."""


class IntegrityError(DatabaseError):
    """The API refused a change because of a conflict with existing data."""


class InternalError(DatabaseError):
    """cfql itself is in a state it should never reach."""


class ProgrammingError(DatabaseError):
    """The SQL is wrong: syntax, unknown names, or no method matches."""


class NotSupportedError(DatabaseError):
    """The statement is valid SQL but the resource does not offer it."""


class SQLSyntaxError(ProgrammingError):
    """The text is not valid StackQL; carries the 1-based line and column when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.description = message
        self.line = line
        self.column = column
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"syntax error{where}: {message}")


class ResolutionError(ProgrammingError):
    """No documented method matches what the statement supplies."""


class CredentialsError(OperationalError):
    """No credentials were configured, so no request is attempted."""


class APIError(OperationalError):
    """The API answered with an error status; carries the status and the server's message."""

    def __init__(self, status: int, message: str, code: int | str | None = None, method: str = ""):
        self.status = status
        self.api_message = message
        self.code = code
        prefix = f"{method}: " if method else ""
        code_text = f" (code {code})" if code not in (None, "", status) else ""
        super().__init__(f"{prefix}HTTP {status}{code_text}: {message}")


class Interrupted(OperationalError):
    """The user stopped a run (Ctrl-C); what had finished is reported with it."""


class UnboundParameterError(ProgrammingError):
    """A ``:name`` placeholder has no value."""


class TemplateError(ProgrammingError):
    """A script template could not be rendered (undefined variable, bad syntax)."""
