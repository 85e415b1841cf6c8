"""cfql's exceptions: one tree, arranged as PEP 249 asks so DB-API code can catch them.

Every message is one line a user can act on; the CLI prints ``str(error)`` and
nothing else unless ``--debug`` is given. Everything the library raises is one
of these classes::

    Warning                     (also a builtins.Warning, so warnings.warn can issue it)
     ├── PaginationCapWarning   a SELECT stopped after the page cap; the rows so far came back
     ├── SchemaWarning          a value outside a third-party document's enum or bounds was sent anyway
     └── StackWarning           a deploy stack file holds something to look at (an unquoted placeholder)
    Error
     ├── InterfaceError         misuse of the library: a closed connection or cursor
     └── DatabaseError
          ├── ProgrammingError  the SQL is wrong
          │    ├── SQLSyntaxError         with .line and .column
          │    ├── ResolutionError        no documented method matches
          │    ├── UnboundParameterError  a :name without a value
          │    ├── TemplateError          a script template did not render
          │    └── StackError             a deploy stack's files are wrong (nothing was sent)
          ├── DataError         a value the schema (or the API: 400, 422) rejects
          ├── IntegrityError    a conflict with existing data (the API: 409)
          ├── OperationalError  the API or the network failed
          │    ├── CredentialsError   no credentials configured: nothing was sent
          │    ├── OutcomeUnknownError  the request may have been applied: its answer was lost
          │    └── Interrupted        the user stopped a run (Ctrl-C)
          │         └── NotSent        ... before the statement sent anything: it did not run
          ├── NotSupportedError a statement the resource does not offer
          └── InternalError     cfql reached a state it never should

    APIError (a DatabaseError) is the base of every error the API answered with
    a status; each concrete class is also the PEP 249 class of its status:

          status        class                                     is also a
          409           APIConflictError                          IntegrityError
          400, 422      APIDataError                              DataError
          401, 403      APIAuthenticationError (names the credential)  OperationalError
          5xx to a change  APIOutcomeUnknownError (an APIStatusError)  OutcomeUnknownError
          anything else APIStatusError                            OperationalError

    All of them carry .status, .api_message (the server's message, secrets
    scrubbed), .code (the server's error code, if any) and .method.

An error raised while running a script carries where it happened: ``source``
(the file), ``line``, ``statement`` (an excerpt, secrets masked), and how many
statements had ``completed`` of the ``total`` — and keeps its own class, so a
failed script statement is caught exactly as the same statement run alone.
The error that stops a script also carries the run's ``summary`` (succeeded,
failed, outcome unknown, not run).
"""

from __future__ import annotations

import builtins
import typing as t


class Warning(builtins.Warning):
    """Important warnings (PEP 249); also usable with :func:`warnings.warn`."""


class PaginationCapWarning(Warning):
    """A SELECT stopped after its page cap; the rows read so far were returned."""


class StackWarning(Warning):
    """Something in a deploy stack file that cfql accepts but its author should look at (an unquoted placeholder)."""


class SchemaWarning(Warning):
    """A value outside the enum, bounds or format of a document cfql does not ship was sent (``strict`` refuses it)."""


class Error(Exception):
    """Base class of every cfql error (PEP 249)."""

    source: str | None = None
    line: int | None = None
    statement: str | None = None
    completed: int | None = None
    total: int | None = None
    reason: str | None = None  # the message before it was located in a script
    outcome_unknown: bool = False  # True when the request may have taken effect (see OutcomeUnknownError)
    summary: t.Any = None  # the script run's Summary, when this error stopped (or interrupted) a script
    #: For a change that sent one request per element (an IN list, rows of VALUES) and did not all succeed:
    #: the Result of what came back (RETURNING's rows, NULLs for the rest) and each element's ``outcomes``.
    result: t.Any = None

    def locate(
        self,
        source: str,
        line: int | str | None,
        statement: str | None = None,
        completed: int | None = None,
        total: int | None = None,
    ) -> Error:
        """This error, placed in a script: ``FILE:LINE: message [in: ...]; N of M statements ran before it``."""
        if self.reason is None:
            self.reason = str(self)
        self.source = source
        if isinstance(line, int):
            self.line = line
        self.statement = statement
        self.completed = completed
        self.total = total
        where = f"{source}:{line if line is not None else '?'}: "
        message = self.reason if self.reason.startswith(f"{source}:") else where + self.reason
        if statement:
            message += f" [in: {statement}]"
        if completed is not None:
            message += f"; {completed} of {total} statements ran before it"
        self.args = (message,)
        return self


class InterfaceError(Error):
    """Misuse of the library itself, e.g. a closed connection or cursor."""


class DatabaseError(Error):
    """Errors about the statement or the API behind it."""


class DataError(DatabaseError):
    """A value was rejected: by the method's schema before sending, or by the API (400, 422)."""


class OperationalError(DatabaseError):
    """The API or the network failed: HTTP errors, timeouts, missing credentials."""


class IntegrityError(DatabaseError):
    """The API refused a change because of a conflict with existing data (409)."""


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
    """No documented method matches what the statement supplies.

    Raised by the resolver, it carries its judgement (``resolution``: every
    candidate and what each lacks) and ``written``, each supplied name with a
    value the statement writes for it, so that EXPLAIN can show the candidates
    with the statement's secret values masked.
    """

    def __init__(self, message: str, resolution: t.Any = None, written: t.Sequence[tuple[str, t.Any]] = ()):
        super().__init__(message)
        self.resolution = resolution
        self.written = tuple(written)


class UnboundParameterError(ProgrammingError):
    """A ``:name`` placeholder has no value."""


class TemplateError(ProgrammingError):
    """A script template could not be rendered (undefined variable, bad syntax, a value refused)."""


class StackError(ProgrammingError):
    """A deploy stack's files are wrong: a bad manifest or query file, an undefined variable; nothing was sent."""


class CredentialsError(OperationalError):
    """No credentials were configured, so no request is attempted."""


class OutcomeUnknownError(OperationalError):
    """A change reached (or may have reached) the API, but its answer was lost.

    The connection dropped or timed out after the request was sent, or the
    server answered 5xx to a request that is not safe to repeat. The change may
    have been applied: it is never retried, and never reported as plainly
    failed. Callers check ``isinstance(error, OutcomeUnknownError)`` (or the
    ``outcome_unknown`` attribute every cfql error has) before re-running.
    """

    outcome_unknown = True
    ADVICE = "the change may have been applied; check before re-running"


class Interrupted(OperationalError):
    """The user stopped a run (Ctrl-C); what had finished is reported with it."""


class NotSent(Interrupted):
    """Ctrl-C came while a statement waited to send its first request: nothing of it was sent.

    A script counts such a statement as not run, never as failed.
    """


class APIError(DatabaseError):
    """The API answered with an error status; carries the status and the server's message."""

    def __init__(self, status: int, message: str, code: int | str | None = None, method: str = ""):
        self.status = status
        self.api_message = message
        self.code = code
        self.method = method
        prefix = f"{method}: " if method else ""
        code_text = f" (code {code})" if code not in (None, "", status) else ""
        super().__init__(f"{prefix}HTTP {status}{code_text}: {message}")


class APIConflictError(APIError, IntegrityError):
    """409: the change conflicts with existing data (e.g. a duplicate)."""


class APIDataError(APIError, DataError):
    """400 or 422: the API rejected a value."""


class APIAuthenticationError(APIError, OperationalError):
    """401 or 403: the credential was refused; the message says which one was sent."""


class APIStatusError(APIError, OperationalError):
    """Any other error status (5xx, 404, 429 after retries, ...)."""


class APIOutcomeUnknownError(APIStatusError, OutcomeUnknownError):
    """5xx to a request that changes something: the server failed, perhaps after applying it."""

    def __init__(self, status: int, message: str, code: int | str | None = None, method: str = ""):
        super().__init__(status, message, code, method)
        self.args = (f"{self.args[0]}; {self.ADVICE}",)


#: How an error status becomes an exception class (documented in the module docstring).
STATUS_CLASSES: dict[int, type[APIError]] = {
    409: APIConflictError,
    400: APIDataError,
    422: APIDataError,
    401: APIAuthenticationError,
    403: APIAuthenticationError,
}


def api_error(
    status: int, message: str, code: t.Any = None, method: str = "", credential: str = "", changes: bool = False
) -> APIError:
    """The exception for an error ``status``; 401/403 also name the ``credential`` that was sent.

    ``changes``: the request was one that changes something (not a read), so a
    5xx leaves its outcome unknown rather than failed.
    """
    cls = STATUS_CLASSES.get(status, APIStatusError)
    if cls is APIAuthenticationError and credential:
        message = f"{message} (sent {credential})"
    if changes and status >= 500:
        return APIOutcomeUnknownError(status, message, code=code, method=method)
    return cls(status, message, code=code, method=method)
