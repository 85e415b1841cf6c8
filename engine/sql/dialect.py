"""The StackQL dialect of SQL, as a sqlglot ``Dialect``.

StackQL is PostgreSQL-flavoured SQL plus a few statements that address API
methods rather than tables: ``REPLACE r SET ... WHERE ...`` (a PUT), ``EXEC
p.s.r.method @param = value`` and ``SHOW ... IN ...``. We extend sqlglot
through its own extension points (tokenizer keywords and statement parsers)
so that positions, comments and error messages stay sqlglot's.
"""

from __future__ import annotations

import itertools
import logging
import typing as t
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from cfql.errors import SQLSyntaxError
from cfql.sql import scanner


class Replace(exp.Update):
    """``REPLACE r SET ... WHERE ... [RETURNING ...]``: an UPDATE that replaces the whole object."""


class ExecParam(exp.Expression):
    """One ``@name = value`` argument of EXEC (``@@json = '...'`` has ``json=True``)."""

    arg_types = {"this": True, "expression": True, "json": False}


class Exec(exp.Expression):
    """``EXEC provider.service.resource.method @p = v, ... [@@json = '{...}']``."""

    arg_types = {"this": True, "method": True, "expressions": False}


class Show(exp.Expression):
    """``SHOW [EXTENDED] {PROVIDERS | SERVICES | RESOURCES | METHODS} [IN target] [LIKE pattern | WHERE condition]``,
    ``SHOW [EXTENDED] INSERT INTO resource [(column, ...)] [/*+ REQUIRED */]`` and ``SHOW VERSION``.

    ``columns`` (identifiers) is the column list of SHOW INSERT INTO; ``required`` is its
    ``/*+ REQUIRED */`` hint, which may stand anywhere after SHOW.
    """

    arg_types = {
        "this": True, "target": False, "extended": False, "like": False, "where": False,
        "columns": False, "required": False,
    }


SHOW_KINDS = ("PROVIDERS", "SERVICES", "RESOURCES", "METHODS", "INSERT", "VERSION")
#: The hint words a ``/*+ ... */`` comment of SHOW may hold.
SHOW_HINTS = ("REQUIRED",)


class DescribeMethod(exp.Expression):
    """``DESCRIBE METHOD [EXTENDED] provider.service.resource.method``: a method's inputs and outputs."""

    arg_types = {"this": True, "method": True, "extended": False}


class Explain(exp.Expression):
    """``EXPLAIN statement``: what the statement would do, worked out without sending anything."""

    arg_types = {"this": True}


class RegistryStatement(exp.Expression):
    """``REGISTRY LIST [provider]`` or ``REGISTRY PULL provider [version]``: StackQL's remote provider registry."""

    arg_types = {"this": True, "provider": False, "version": False}


REGISTRY_ACTIONS = ("LIST", "PULL")
REGISTRY_USAGE = "REGISTRY LIST [provider] or REGISTRY PULL provider [version]"


def _resource_table(parts: list[str]) -> exp.Table:
    """``provider.service.resource`` names as the table sqlglot's own parser would have built for them."""
    provider, service, resource = parts
    return exp.Table(
        this=exp.to_identifier(resource), db=exp.to_identifier(service), catalog=exp.to_identifier(provider)
    )


class StackQL(Postgres):
    """PostgreSQL syntax plus StackQL's statements."""

    class Tokenizer(Postgres.Tokenizer):
        KEYWORDS = {
            **Postgres.Tokenizer.KEYWORDS,
            "EXEC": TokenType.EXECUTE,
            "EXECUTE": TokenType.EXECUTE,
            "SHOW": TokenType.SHOW,
            # A word that starts a statement (see ``_parse_statement``), not PostgreSQL's opaque command.
            "EXPLAIN": TokenType.VAR,
        }
        # Postgres swallows the rest of these statements as an opaque string.
        COMMANDS = Postgres.Tokenizer.COMMANDS - {TokenType.EXECUTE, TokenType.SHOW}

    class Parser(Postgres.Parser):
        STATEMENT_PARSERS = {
            **Postgres.Parser.STATEMENT_PARSERS,
            TokenType.REPLACE: lambda self: self._parse_replace(),
            TokenType.EXECUTE: lambda self: self._parse_exec(),
            TokenType.SHOW: lambda self: self._parse_stackql_show(),
        }

        def _parse_csv(self, parse_method: t.Callable[[], t.Any], sep: TokenType = TokenType.COMMA) -> list[t.Any]:
            """sqlglot's list parser, minus its leniency: it drops empty items (``RETURNING a,,``,
            ``SELECT 'a', , 'b'``, a trailing comma), so a list would silently lose an entry."""
            items = []
            item = parse_method()
            if item is not None:
                items.append(item)
            while self._match(sep):
                if isinstance(item, exp.Expression):
                    self._add_comments(item)
                item = parse_method()
                if item is None:
                    self.raise_error(f"expected an item after {self._prev.text!r}, found "
                                     + (repr(self._curr.text) if self._curr else "the end of the statement"))
                items.append(item)
            return items

        def _parse_statement(self) -> exp.Expression | None:
            # REGISTRY and EXPLAIN are no keywords (a column or resource may be called so): words that start a statement.
            token = self._curr
            word = token.text.upper() if token and token.token_type == TokenType.VAR else ""
            if word in ("REGISTRY", "EXPLAIN"):
                self._advance()
                comments = self._prev_comments
                statement = self._parse_registry() if word == "REGISTRY" else self._parse_explain()
                statement.add_comments(comments, prepend=True)
                return statement
            return super()._parse_statement()

        def _parse_explain(self) -> Explain:
            if not self._curr or self._curr.token_type == TokenType.SEMICOLON:
                self.raise_error("EXPLAIN needs a statement: EXPLAIN SELECT ..., EXPLAIN INSERT ...")
            if self._curr.token_type == TokenType.VAR and self._curr.text.upper() == "EXPLAIN":
                self.raise_error("EXPLAIN explains one statement, not another EXPLAIN")
            inner = self._parse_statement()
            if inner is None:
                self.raise_error("EXPLAIN needs a statement")
            return self.expression(Explain(this=inner))

        def _parse_registry(self) -> RegistryStatement:
            action = self._curr.text.upper() if self._curr and self._curr.token_type != TokenType.STRING else ""
            if action not in REGISTRY_ACTIONS:
                self.raise_error(f"Expected {REGISTRY_USAGE}")
            self._advance()
            provider = self._parse_registry_word()
            if provider is None and action == "PULL":
                self.raise_error("REGISTRY PULL needs a provider: REGISTRY PULL provider [version]")
            version = self._parse_registry_word() if action == "PULL" else None
            if self._curr and self._curr.token_type != TokenType.SEMICOLON:
                self.raise_error(f"Unexpected {self._curr.text!r}: {REGISTRY_USAGE}")
            return self.expression(RegistryStatement(this=exp.Var(this=action), provider=provider, version=version))

        def _parse_registry_word(self) -> exp.Literal | None:
            """A provider or version as written: a string, a quoted name, or tokens with no space between
            (``googleapis.com`` and ``v24.03.00206`` are several tokens each)."""
            first = self._curr
            if not first or first.token_type == TokenType.SEMICOLON:
                return None
            self._advance()
            if first.token_type in (TokenType.STRING, TokenType.IDENTIFIER):
                return exp.Literal.string(first.text)
            end = first.end
            while (
                self._curr
                and self._curr.start == end + 1
                and self._curr.token_type not in (TokenType.SEMICOLON, TokenType.STRING, TokenType.IDENTIFIER)
            ):
                end = self._curr.end
                self._advance()
            return exp.Literal.string(self.sql[first.start : end + 1])

        def _parse_describe(self) -> exp.Describe | DescribeMethod:
            """sqlglot's DESCRIBE, where the method of ``p.s.r.method`` may be any word (``create``, ``insert``);
            ``DESCRIBE [EXTENDED] METHOD [EXTENDED] p.s.r.method`` when METHOD is a word of its own, not a name's part."""
            start = self._index
            extended = self._match_text_seq("EXTENDED")
            if self._match_text_seq("METHOD") and not (self._curr and self._curr.token_type == TokenType.DOT):
                extended = self._match_text_seq("EXTENDED") or extended
                target, method = self._parse_method_target("DESCRIBE METHOD")
                return self.expression(DescribeMethod(this=target, method=method, extended=extended))
            self._retreat(start)
            index, dots = self._index, 0
            while index < len(self._tokens) and dots < 3 and self._tokens[index].token_type != TokenType.SEMICOLON:
                dots += self._tokens[index].token_type == TokenType.DOT
                index += 1
            word = self._tokens[index] if dots == 3 and index < len(self._tokens) else None
            if word is not None and word.token_type not in (TokenType.VAR, TokenType.IDENTIFIER) and word.text.isidentifier():
                self._tokens[index] = Token(TokenType.VAR, word.text, word.line, word.col, word.start, word.end, word.comments)
            return super()._parse_describe()

        def _parse_replace(self) -> Replace:
            update = self._parse_update()
            return self.expression(Replace(**update.args))

        def _parse_exec(self) -> Exec:
            target, method = self._parse_method_target("EXEC")
            params: list[ExecParam] = []
            while self._curr and self._curr.token_type != TokenType.SEMICOLON:
                if params:
                    self._match(TokenType.COMMA)
                params.append(self._parse_exec_param())
            return self.expression(Exec(this=target, method=method, expressions=params))

        def _parse_method_target(self, statement: str) -> tuple[exp.Table, exp.Identifier]:
            """``p.s.r.method`` as the resource's table and the method's name: EXEC and DESCRIBE METHOD both
            address one method, and refuse any other number of parts in the same words."""
            parts = self._parse_dotted_name()
            if len(parts) != 4:
                self.raise_error(f"{statement} needs provider.service.resource.method, got " + ".".join(parts))
            return _resource_table(parts[:3]), exp.to_identifier(parts[3])

        def _parse_dotted_name(self) -> list[str]:
            """``a.b.c.d`` as names; sqlglot's table parser stops at three parts."""
            parts = []
            while True:
                name = self._parse_id_var(any_token=True)
                if name is None:
                    self.raise_error("Expected a name")
                    break
                parts.append(name.name)
                if not self._match(TokenType.DOT):
                    return parts
            return parts

        def _parse_exec_param(self) -> ExecParam:
            is_json = self._match(TokenType.DAT)
            if not is_json and not self._match(TokenType.PARAMETER):
                self.raise_error("Expected @param = value or @@json = '...'")
            name = self._parse_id_var(any_token=True)
            if not name:
                self.raise_error("Expected a parameter name after @")
            if not self._match(TokenType.EQ):
                self.raise_error(f"Expected = after @{name.name}")
            value = self._parse_bitwise()
            if value is None:
                self.raise_error(f"Expected a value for @{name.name}")
            return self.expression(ExecParam(this=name, expression=value, json=bool(is_json)))

        def _parse_stackql_show(self) -> Show:
            first = self._index
            extended = self._match_text_seq("EXTENDED")
            kind = self._curr.text.upper() if self._curr else ""
            if kind not in SHOW_KINDS:
                self.raise_error("Expected SHOW [EXTENDED] " + " | ".join(SHOW_KINDS))
            self._advance()
            target = columns = like = where = None
            if kind == "INSERT":
                if not self._match(TokenType.INTO):
                    self.raise_error("Expected SHOW [EXTENDED] INSERT INTO provider.service.resource")
                parts = self._parse_dotted_name()  # not sqlglot's table parser, which reads "r (a, b)" as a call
                if len(parts) != 3:
                    self.raise_error("SHOW INSERT INTO needs provider.service.resource, got " + ".".join(parts))
                target = _resource_table(parts)
                if self._match(TokenType.L_PAREN):
                    columns = self._parse_csv(lambda: self._parse_id_var(any_token=True))
                    self._match_r_paren()
            elif kind != "VERSION" and self._match(TokenType.IN):
                target = self._parse_table_parts()
            if self._match(TokenType.LIKE):
                like = self._parse_string()
                if not (isinstance(like, exp.Literal) and like.is_string):  # a :param too: SHOW is answered at plan time
                    self.raise_error("SHOW … LIKE takes a string written in the statement: LIKE 'pattern%'")
            elif self._match(TokenType.WHERE):
                where = self.expression(exp.Where(this=self._parse_disjunction()))
            hints = self._show_hints(first)
            if hints and kind != "INSERT":
                self.raise_error("/*+ REQUIRED */ belongs to SHOW INSERT INTO")
            return self.expression(
                Show(
                    this=exp.Var(this=kind), target=target, extended=extended, like=like, where=where,
                    columns=columns, required="REQUIRED" in hints,
                )
            )

        def _show_hints(self, first: int) -> set[str]:
            """The words of ``/*+ ... */`` comments among SHOW's text (other comments are only comments); a hint
            SHOW does not know is refused."""
            start = self._tokens[first - 1].start
            end = self._curr.start if self._curr else len(self.sql)
            hints: set[str] = set()
            text = self.sql[start:end]
            for token in scanner.iter_tokens(text):
                if token.kind != scanner.COMMENT or token.delimiter != "/*" or not token.body(text).startswith("+"):
                    continue
                for word in token.body(text)[1:].replace(",", " ").upper().split():
                    if word not in SHOW_HINTS:
                        self.raise_error(f"unknown hint {word} (SHOW INSERT INTO takes /*+ REQUIRED */)")
                    hints.add(word)
            return hints


_DIALECT = StackQL()
# sqlglot logs a warning when it falls back to an opaque Command; cfql reports
# such statements as unsupported itself, and a log line would break the
# one-line-error promise of the CLI.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


def tokenize(sql: str) -> list[Token]:
    """Tokenize with the StackQL tokenizer, turning sqlglot's errors into ours (with a position)."""
    try:
        return _DIALECT.tokenize(sql)
    except TokenError as error:
        raise _token_error(sql, error) from None


def _token_error(sql: str, error: TokenError) -> SQLSyntaxError:
    """sqlglot does not say where tokenizing failed; an unclosed quote or comment usually is why."""
    opened = scanner.first_unclosed(sql)
    if opened is None:
        return SQLSyntaxError(str(error).splitlines()[0])
    line, column = scanner.line_and_column(sql, opened.start)
    what = "dollar-quoted string" if opened.dollar_quoted else _UNCLOSED.get(opened.kind, opened.kind)
    return SQLSyntaxError(f"unterminated {what}", line=line, column=column)


_UNCLOSED = {scanner.STRING: "string", scanner.QUOTED: "quoted name", scanner.COMMENT: "comment"}


def table_parts(table: t.Any) -> list[str]:
    """``provider.service.resource`` of a parsed table reference, as names."""
    if not isinstance(table, exp.Table):
        got = f"a {table.key.upper()} expression" if isinstance(table, exp.Expression) else "nothing"
        raise SQLSyntaxError(f"expected provider.service.resource, got {got}")
    return [part.name for part in table.parts]


def parse_statement(sql: str, line_offset: int = 0, tokens: list[Token] | None = None) -> exp.Expression:
    """Parse exactly one statement; a syntax error carries its line and column.

    ``line_offset`` shifts reported lines when ``sql`` was cut out of a larger
    script; ``tokens`` (from ``iter_statements``) spares tokenizing it again.
    """
    try:
        if tokens is None:
            tokens = _DIALECT.tokenize(sql)
        statements = _DIALECT.parser().parse(tokens, sql)
    except ParseError as error:
        detail = error.errors[0] if error.errors else {}
        description = detail.get("description") or str(error).splitlines()[0]
        line = detail.get("line")
        raise SQLSyntaxError(
            description,
            line=(line + line_offset) if line else None,
            column=detail.get("col"),
        ) from None
    except TokenError as error:
        raise _token_error(sql, error) from None
    statements = [s for s in statements if s is not None and not isinstance(s, exp.Semicolon)]
    if not statements:
        raise SQLSyntaxError("empty statement")
    if len(statements) > 1:
        raise SQLSyntaxError("expected one statement, found %d" % len(statements))
    return statements[0]


@dataclass(frozen=True)
class Piece:
    """One statement of a script: its text and first line, and its tokens (positions within ``chunk``,
    lines counted from ``chunk_line``)."""

    sql: str
    line: int
    start: int  # offset of the statement in the script
    chunk: str
    chunk_line: int
    tokens: list[Token]


def iter_statements(text: str) -> t.Iterator[Piece]:
    """Cut a script into statements at top-level semicolons, one statement at a time.

    The scanner finds the semicolons outside strings, quoted names and
    comments (reading them as sqlglot will); only then is each statement
    tokenized, so a long script is never held as one token list. Statements
    that are only comments are dropped.
    """
    line = 1
    start = 0
    for end in itertools.chain(scanner.semicolons(text), (len(text),)):
        chunk = text[start:end]
        try:
            tokens = tokenize(chunk)
        except SQLSyntaxError as error:  # its line counts from the chunk; make it the script's
            if error.line is None:
                raise
            raise SQLSyntaxError(error.description, error.line + line - 1, error.column) from None
        if tokens:
            first = tokens[0]
            sql = chunk[first.start :].rstrip()
            yield Piece(sql, line + first.line - 1, start + first.start, chunk, line, tokens)
        line += chunk.count("\n")
        start = end + 1  # past its semicolon


def split_statements(text: str) -> t.Iterator[tuple[str, int]]:
    """``(statement_text, first_line)`` for each statement of a script."""
    for piece in iter_statements(text):
        yield piece.sql, piece.line
