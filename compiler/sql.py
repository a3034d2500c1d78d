"""Parse model SQL with sqlglot and find the tables it reads.

A table reference is every ``Table`` node whose ``this`` is a plain identifier, that is not
a CTE visible in its scope, not a table function (``read_parquet(...)``, ``range(10)``),
not a file path (``FROM 'data/x.csv'``) and not a system catalog.

>>> [str(r) for r in table_references(parse_sql(
...     "with a as (select * from orders) select * from a join shop.payments p using (id)"
...     " join read_parquet('x.parquet') using (id)", path="m.sql"))]
['orders', 'shop.payments']
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from teal.compiler.errors import ParseError, ProjectError, line_col
from teal.compiler.errors import source_col as located_col

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlglot import exp
    from sqlglot.tokens import Token

DIALECT = "duckdb"
SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "system", "temp"})
_FILE_LIKE = re.compile(r"[/\\]|\.(csv|tsv|parquet|json|jsonl|ndjson|gz|zst|txt|xlsx)$", re.I)


@dataclass(frozen=True)
class TableRef:
    """One table read by a query, with its position in the rendered SQL."""

    name: str
    db: str
    catalog: str
    line: int | None
    col: int | None
    node: Any  # the sqlglot Table node (identity matters for rewriting)
    # Where the written name (``shop.orders``, quotes included) is in the rendered SQL, as
    # [start, end) offsets; None when the tree does not say. ``plain`` references (a name and
    # maybe an alias, nothing else) can be rewritten by replacing that text.
    start: int | None = None
    end: int | None = None
    aliased: bool = False
    plain: bool = False

    def __str__(self) -> str:
        return ".".join(p for p in (self.catalog, self.db, self.name) if p)


def second_statement_start(tokens: Sequence[Token]) -> int | None:
    """Where the second statement of ``tokens`` starts: the offset of the first token
    after a ``;`` that is not one (None: there is none)."""
    from sqlglot.tokens import TokenType

    return next(
        (
            token.start
            for before, token in zip(tokens, tokens[1:])
            if before.token_type is TokenType.SEMICOLON
            and token.token_type is not TokenType.SEMICOLON
        ),
        None,
    )


def parse_sql(
    sql: str,
    *,
    path: str,
    line_of: Any = None,
    source: str | None = None,
    digest: bool = True,
) -> exp.Query:
    """Parse one SELECT statement (a model body). Errors point at the source line.
    ``digest=False``: no token digest in ``meta`` (the column tracer needs none)."""
    from sqlglot import exp
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import ParseError as SqlglotParseError
    from sqlglot.errors import TokenError

    def where(line: int | None) -> tuple[int | None, str | None]:
        if line is None:
            return None, None
        src_line = line_of(line) if line_of else line
        lines = (source if source is not None else sql).splitlines()
        text = lines[src_line - 1] if 0 < src_line <= len(lines) else None
        return src_line, text

    def source_col(
        line: int | None, col: int | None, text: str | None, token: str = ""
    ) -> int | None:
        """Move a column of rendered ``line`` onto the same spot of the source line
        ``text`` (None: it cannot be told there, so the error points at the line)."""
        rendered = (
            sql.splitlines()[line - 1] if line and 0 < line <= len(sql.splitlines()) else None
        )
        return located_col(rendered, text, col, token)

    try:
        dialect = Dialect.get_or_raise(DIALECT)
        tokens = dialect.tokenize(sql)
        # a comment after the closing ';' parses as an empty statement of its own
        statements = [
            s
            for s in dialect.parser().parse(tokens, sql)
            if s is not None and not isinstance(s, exp.Semicolon)
        ]
    except SqlglotParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        line, text = where(first.get("line"))
        col = first.get("col")
        highlight = first.get("highlight") or ""
        if col is not None and highlight:
            col = max(col - len(highlight) + 1, 1)  # sqlglot reports the end of the token
        desc = first.get("description", str(exc)).split(". Line ")[0]
        # sqlglot's SENTINEL token is the end of the text, not something written
        desc = re.sub(r"<Token token_type: TokenType\.SENTINEL\b.*?>", "the end of the query", desc)
        desc = re.sub(r"<Token token_type: TokenType\.\w+, text: (.*?), line.*?>", r"'\1'", desc)
        desc = _plain_description(desc)
        col = source_col(first.get("line"), col, text, highlight)
        raise ParseError(
            f"SQL syntax error: {desc}",
            path=path,
            line=line,
            col=col,
            source_line=text,
            hint="fix the SQL near the marked position",
        ) from None
    except TokenError as exc:
        unclosed = re.search(r"Missing (.+) from \d+:(\d+)$", str(exc.__cause__ or ""))
        opened = sql.rfind("/*")
        quote_at = _unclosed_quote(sql)
        if unclosed or opened > sql.rfind("*/") or quote_at is not None:
            if unclosed:
                what, offset = unclosed.group(1), int(unclosed.group(2))
            elif quote_at is not None:  # sqlglot's compiled tokenizer does not say where
                what, offset = quote_at
            else:
                what, offset = "/*", opened
            rline, rcol = line_col(sql, offset)
            line, text = where(rline)
            col = source_col(rline, rcol, text)
            kind, closer = ("comment", "*/") if what == "/*" else ("quoted text", what)
            raise ParseError(
                f"SQL syntax error: the {kind} starting here is never closed",
                path=path,
                line=line,
                col=col,
                source_line=text,
                hint=f"check for an unclosed quote or comment: add the closing {closer}",
            ) from None
        m = re.search(r"line (\d+), col:? (\d+)", str(exc))
        line, text = where(int(m.group(1)) if m else None)
        raise ParseError(
            f"SQL syntax error: {exc}",
            path=path,
            line=line,
            col=int(m.group(2)) if m else None,
            source_line=text,
            hint="check for an unclosed quote or comment",
        ) from None
    if not statements:
        raise ParseError(
            "the model is empty", path=path, line=1, hint="a SQL model is one SELECT statement"
        )
    if len(statements) > 1:
        start = second_statement_start(tokens)
        second_line, at = (None, None) if start is None else line_col(sql, start)
        line, text = where(second_line)
        raise ParseError(
            "a SQL model must be a single statement",
            path=path,
            line=line,
            col=source_col(second_line, at, text),
            source_line=text,
            hint="remove the extra statement (and the ';' before it): teal creates the table "
            "or view from the one SELECT",
        )
    if _DOUBLE_COMMA.search(sql):  # sqlglot drops an empty item, DuckDB refuses it
        from sqlglot.tokens import TokenType

        for before, token in zip(tokens, tokens[1:]):
            if before.token_type is TokenType.COMMA and token.token_type is TokenType.COMMA:
                line, text = where(token.line)
                raise ParseError(
                    "SQL syntax error: two commas with nothing between them",
                    path=path,
                    line=line,
                    col=source_col(token.line, token.col, text, ","),
                    source_line=text,
                    hint="remove the extra ',' (or write the missing item)",
                )
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise ParseError(
            f"a SQL model must be a SELECT query, found {statement.key.upper()}",
            path=path,
            line=1,
            source_line=where(1)[1],
            hint="DuckDB's PIVOT statement is a query once wrapped: select * from (pivot ...)"
            if statement.key in ("pivot", "unpivot")
            else "write the SELECT only: teal creates the table or view for you",
        )
    # The statement's own text, without comments around it or a closing ';': what a
    # rewrite by text keeps (see TableRef.start).
    if digest:
        body = _without_semicolons(tokens)
        statement.meta["span"] = (body[0].start, body[-1].end + 1)
        statement.meta["digest"] = token_digest(body)
    return statement


_DOUBLE_COMMA = re.compile(r",\s*,")

# DuckDB's reserved words (duckdb_keywords()): never a name unless quoted or written right
# after AS or a dot, so their case cannot change what a query outputs
_RESERVED = frozenset(
    """
    all analyse analyze and any array as asc asymmetric both case cast check collate column
    constraint create default deferrable desc describe distinct do else end except false fetch
    for foreign from group having in initially intersect into lambda lateral leading limit not
    null offset on only or order pivot pivot_longer pivot_wider placing primary qualify
    references returning select show some summarize symmetric table then to trailing true
    union unique unpivot using variadic when where window with""".split()
)


def token_digest(tokens: list[Any]) -> str:
    """A hash of a statement's tokens (each one's kind and text): blind to whitespace, line
    breaks, comments and the case of reserved words, so that reformatting a model is not a
    change to it. Other case is kept: it matters in names DuckDB prints (``select 1 as
    Amount``, even ``as From``) and in strings of any kind.

    >>> from sqlglot.dialects.dialect import Dialect
    >>> tok = Dialect.get_or_raise(DIALECT).tokenize
    >>> token_digest(tok("SELECT a -- why\\n  FROM t")) == token_digest(tok("select a from t"))
    True
    >>> [token_digest(tok(q)) == token_digest(tok("select 'a' as x from t")) for q in (
    ...  'select "a" as x from t', "select $$a$$ as x from t", "select 'A' as x from t",
    ...  "select 'a' as X from t")]
    [False, False, False, False]
    """
    parts, label = [], False
    for t in tokens:
        # _name_, not .name: Enum's name property runs Python code
        kind, text = t.token_type._name_, t.text
        if not label and text.lower() in _RESERVED and kind not in ("STRING", "IDENTIFIER"):
            text = text.lower()
        parts.append(kind + ":" + text)
        label = kind in ("ALIAS", "DOT")
    return text_hash("\x1f".join(parts))


def _without_semicolons(tokens: list[Any]) -> list[Any]:
    """The tokens without the ``;`` before and after the statement."""
    from sqlglot.tokens import TokenType

    semicolon = TokenType.SEMICOLON
    start, end = 0, len(tokens)
    while end > start and tokens[end - 1].token_type is semicolon:
        end -= 1
    while start < end and tokens[start].token_type is semicolon:
        start += 1
    return tokens[start:end]


_OPERATORS = {
    "EQ": "=",
    "NEQ": "<>",
    "GT": ">",
    "GTE": ">=",
    "LT": "<",
    "LTE": "<=",
    "Add": "+",
    "Sub": "-",
    "Mul": "*",
    "Div": "/",
    "Mod": "%",
    "And": "AND",
    "Or": "OR",
    "DPipe": "||",
    "Like": "LIKE",
    "ILike": "ILIKE",
    "Is": "IS",
}


def _plain_description(desc: str) -> str:
    """sqlglot's "Required keyword: 'expression' missing for <class '...GT'>" in words.

    >>> _plain_description("Required keyword: 'expression' missing for <class 'sqlglot.expressions.core.GT'>")
    "'>' needs a value on its right"
    """
    m = re.match(r"Required keyword: '(\w+)' missing for <class '[\w.]*?(\w+)'>", desc)
    if not m:
        return desc
    arg, node = m.groups()
    if node in _OPERATORS and arg == "expression":
        return f"'{_OPERATORS[node]}' needs a value on its right"
    return f"incomplete {_OPERATORS.get(node, node.upper())}: something is missing here"


def _unclosed_quote(sql: str) -> tuple[str, int] | None:
    """(quote character, offset) of a string or quoted identifier that is never closed.

    >>> _unclosed_quote("select 'a', 'it''s' from t"), _unclosed_quote("select 'oops from t")
    (None, ("'", 7))
    """
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if ch == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                return None  # an unclosed comment is reported on its own
            i = end + 2
            continue
        if ch in ("'", '"'):
            j = i + 1
            while True:
                j = sql.find(ch, j)
                if j < 0:
                    return ch, i
                if sql.startswith(ch * 2, j):  # doubled quote: an escaped one
                    j += 2
                    continue
                break
            i = j + 1
            continue
        i += 1
    return None


def table_references(expression: exp.Expr) -> list[TableRef]:
    """Every physical table read by ``expression``, in order of appearance."""
    from sqlglot import exp

    refs: list[TableRef] = []
    # (schema, table) of columns written schema.table.column: the reference they name
    # is not plain, as pointing it elsewhere must rewrite them too (compiler/rewrite.py)
    qualified: set[tuple[str, str]] = set()
    for node in expression.find_all(exp.Table, exp.Column, bfs=False):
        if not isinstance(node, exp.Table):  # a column
            if node.args.get("db") is not None:
                qualified.add((node.args["db"].name.lower(), node.args["table"].name.lower()))
            continue
        table = node
        if not isinstance(table.this, exp.Identifier):
            continue  # a table function: read_parquet(...), range(10)
        name, db, catalog = table.name, table.db, table.catalog
        if not db and not catalog and _names_a_cte(table, name.lower()):
            continue
        if table.this.quoted and not db and _FILE_LIKE.search(name):
            continue  # FROM 'data/orders.csv'
        if (db or "").lower() in SYSTEM_SCHEMAS:
            continue
        first = table.args.get("catalog") or table.args.get("db") or table.this
        meta, first_meta = table.this.meta, first.meta
        start, end = first_meta.get("start"), meta.get("end")
        col = meta.get("col")
        if col is not None:  # sqlglot marks where a name ends; a reference starts at its first part
            width = len(first.name) + (2 if first.quoted else 0)
            col = max(first_meta.get("col", col) - width + 1, 1)
        refs.append(
            TableRef(
                name=name,
                db=db,
                catalog=catalog,
                line=first_meta.get("line", meta.get("line")),
                col=col,
                node=table,
                start=start,
                end=None if end is None or start is None else end + 1,
                aliased=bool(table.alias),
                plain=all(k in _PLAIN_TABLE_ARGS for k, v in table.args.items() if v),
            )
        )
    if qualified:
        refs = [
            replace(r, plain=False) if (r.db.lower(), r.name.lower()) in qualified else r
            for r in refs
        ]
    refs.sort(key=lambda r: -1 if r.start is None else r.start)  # in the order of the text
    return refs


def _names_a_cte(table: exp.Table, name: str) -> bool:
    """Whether an unqualified table name is a CTE visible where it is read, as DuckDB sees
    it: any CTE of an enclosing query's WITH from the query's body; from inside a CTE, the
    CTEs declared before it, and itself when the WITH is RECURSIVE and its body a UNION.
    Names compare ignoring case."""
    from sqlglot import exp

    below: exp.Expr | None = None
    child: exp.Expr = table
    node = table.parent
    while node is not None:
        with_ = node.args.get("with_")
        if with_ is not None:
            ctes = with_.expressions
            if child is with_:  # the table is inside one of the CTEs
                at = next(i for i, cte in enumerate(ctes) if cte is below)
                own = ctes[at]
                recursive = with_.args.get("recursive") and isinstance(own.this, exp.SetOperation)
                ctes = ctes[: at + 1] if recursive else ctes[:at]
            if any(cte.alias.lower() == name for cte in ctes):
                return True
        below, child, node = child, node, node.parent
    return False


# A Table node with only these set is written as ``[[catalog.]db.]name [[AS] alias]``.
_PLAIN_TABLE_ARGS = frozenset({"this", "db", "catalog", "alias"})


def output_columns(query: exp.Expr) -> list[str] | None:
    """Lower-case output column names of a query, or None when they cannot be known without
    running it (``SELECT *``, an unnamed expression).

    >>> output_columns(parse_sql("select a, b + 1 as c, t.D from t", path="m.sql"))
    ['a', 'c', 'd']
    >>> output_columns(parse_sql("select t.*, a from t", path="m.sql")) is None
    True
    """
    from sqlglot import exp

    if not isinstance(query, exp.Query):
        return None
    selects = query.selects
    if any(
        isinstance(s, exp.Star) or (isinstance(s, exp.Column) and isinstance(s.this, exp.Star))
        for s in selects
    ):
        return None
    names = [s.alias_or_name for s in selects]
    if any(not n for n in names):
        return None
    return [n.lower() for n in names]


def repeated_column_error(
    found: tuple[str, int, int, int | None] | None,
    sql: str,
    source: str,
    line_of: Callable[[int], int],
    display: str,
    stored_as: str,
) -> ProjectError:
    """The located error of :func:`repeated_column`'s ``found`` in rendered ``sql``, at the
    second column's name: its line in ``source`` (the author's text, through ``line_of``),
    and its column where that line is the rendered one (no template on it). ``stored_as``
    says what the engine would do with the second column."""
    name, first, second, start = found if found is not None else ("?", 0, 0, None)
    line = col = text = None
    if start is not None:
        rendered_line, rendered_col = line_col(sql, start)
        line = line_of(rendered_line)
        lines = source.splitlines()
        text = lines[line - 1] if 0 < line <= len(lines) else None
        if text == sql.splitlines()[rendered_line - 1]:  # no template on the line
            col = rendered_col
    return ProjectError(
        f"the query gives two columns the name '{name}' (columns {first} and {second}): "
        + stored_as,
        path=display,
        line=line,
        col=col,
        source_line=text,
        hint="give one of them another name (... as other_name), or leave one out",
    )


def repeated_column(query: exp.Expr) -> tuple[str, int, int, int | None] | None:
    """The first output column name a query gives twice (lower-case), the 1-based positions
    of its two columns, and where the second one's name starts in the SQL (an offset).

    >>> repeated_column(parse_sql("select 1 as x, y, 2 as X", path="m.sql"))
    ('x', 1, 3, 23)
    >>> repeated_column(parse_sql("select 1 as x", path="m.sql")) is None
    True
    """
    from sqlglot import exp

    if not isinstance(query, exp.Query):
        return None
    seen: dict[str, int] = {}
    for i, select in enumerate(query.selects, 1):
        name = select.alias_or_name.lower()
        if not name or name == "*":
            continue
        if name in seen:
            named = select.args.get("alias") if isinstance(select, exp.Alias) else select
            if isinstance(named, exp.Column):
                named = named.this
            start = named.meta.get("start") if named is not None else None
            return name, seen[name], i, start
        seen[name] = i
    return None


def normalized_hash(expression: exp.Expr) -> str:
    """A hash of the SQL that ignores formatting and comments."""
    text = expression.sql(dialect=DIALECT, comments=False, normalize=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def quote_identifier(name: str) -> str:
    """``name`` as a quoted DuckDB identifier (quoted names still match case-insensitively)."""
    return '"' + name.replace('"', '""') + '"'


def string_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def splice(sql: str, span: tuple[int, int], edits: list[tuple[int, int, str]]) -> str:
    """``sql[span]`` with each ``(start, end, text)`` edit applied (offsets into ``sql``).

    >>> splice("-- c\\nselect * from a join b using (id);", (5, 38), [(19, 20, "x.a"), (26, 27, "y")])
    'select * from x.a join y using (id)'
    """
    start, end = span
    pieces, at = [], start
    for edit_start, edit_end, text in sorted(edits):
        pieces += [sql[at:edit_start], text]
        at = edit_end
    pieces.append(sql[at:end])
    return "".join(pieces)
