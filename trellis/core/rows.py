"""Rows read by plain equality, and new rows inserted, without building the query through
the ORM.

On the patient write path Django takes longer to build a small SELECT (0.5 to 1 ms of CPU:
the lookups, the joins it considers, the default ordering) than the database takes to run
it. `rows_where` writes the same SELECT directly from the model's metadata, once per shape,
and still gives model instances (`Model.from_db`), each value converted as the ORM
converts it (encrypted fields decrypt, JSON parses). It answers only what
`filter(a=x, b=y)` on the model's own columns would, in the order asked; anything richer
belongs to the ORM. `insert_row` is `save(force_insert=True)` for one new row of a model
without parents, written the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import psycopg
from django.core.exceptions import FieldDoesNotExist
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import Model


class _Prepared(psycopg.Cursor[Any]):
    """A cursor whose every statement is prepared: PostgreSQL parses and plans its text
    once per connection, then only executes it with each call's values (sent apart from
    the text, server-side binding)."""

    def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
        return super().execute(query, params, prepare=True, binary=options.get("binary"))


def _cursor() -> Any:
    """A cursor for the statements written here, as `connection.cursor()` gives one (the
    same checks and wrapping, so they are counted and logged with the rest). On
    PostgreSQL it prepares them: these are the statements every signed-in request and
    every patient write sends (the session, the user, the enrollment, the write), the same
    text each time, and planning them afresh cost more than running them. A statement here
    that reads a partial index names the index's own values in its text, not as
    parameters, so that the plan kept for every call can use it."""
    db = connections[DEFAULT_DB_ALIAS]  # once: every attribute of `connection` looks it up
    if db.vendor != "postgresql":
        return db.cursor()
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors:
        raw: Any = _Prepared(db.connection)
    return _ShownBound(raw, db) if db.queries_logged else db.make_cursor(raw)


class _ShownBound(CursorDebugWrapper):
    """Where statements are logged (debug, tests counting them), a prepared statement is
    shown as Django shows one bound on the client: its text with the values in it."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        try:
            shown = self.db.ops.compose_sql(sql, params) if params else sql
        except psycopg.Error:  # a value that cannot be shown inline: the text alone
            shown = sql
        with self.debug_sql(shown, params):
            return CursorWrapper.execute(self, sql, params)


def constants(values: Any) -> str:
    """Choices of the code (statuses, occasions), quoted, for a statement's text rather
    than its parameters: a partial index's condition names them, and a prepared
    statement's plan uses the index only if the statement names them too. Only plain
    words are allowed in, so nothing a person typed ever reaches a statement this way."""
    words = [str(value) for value in values]
    assert words and all(re.fullmatch(r"[a-z_]+", word) for word in words), words
    return ", ".join(f"'{word}'" for word in words)


def _field(meta: Any, name: str) -> Any:
    """A field by its name, or a foreign key by its column's name (`patient_id`)."""
    try:
        return meta.get_field(name)
    except FieldDoesNotExist:
        return meta.get_field(name.removesuffix("_id"))


@dataclass(frozen=True)
class _Select:
    """One SELECT of `rows_where`, worked out once per model, fields compared and order."""

    sql: str
    compared: tuple[Any, ...]  # the fields whose values fill the WHERE, in order
    attnames: tuple[str, ...]  # every concrete field, as Model.from_db takes them
    converters: tuple[tuple[int, tuple[tuple[Any, Any], ...]], ...]  # column -> (fn, col)


_SELECTS: dict[tuple[Any, ...], _Select] = {}


def _select(model: type[Model], names: tuple[str, ...], order_by: str) -> _Select:
    key = (model, connection.vendor, names, order_by)
    found = _SELECTS.get(key)
    if found is not None:
        return found
    meta = model._meta
    quote = connection.ops.quote_name
    compared = tuple(_field(meta, name) for name in names)
    where = " AND ".join(f"{quote(field.column)} = %s" for field in compared)
    fields = meta.concrete_fields
    sql = f"SELECT {columns(model)} FROM {quote(meta.db_table)} WHERE {where or 'TRUE'}"  # noqa: S608 (names from the model)
    if order_by:
        field = _field(meta, order_by.removeprefix("-"))
        direction = "DESC" if order_by.startswith("-") else "ASC"
        sql += f" ORDER BY {quote(field.column)} {direction}"
    converters = []
    for index, f in enumerate(fields):  # as the ORM's compiler finds them for each column
        col = f.get_col(meta.db_table)
        found_here = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found_here:
            converters.append((index, tuple((fn, col) for fn in found_here)))
    made = _Select(sql, compared, tuple(f.attname for f in fields), tuple(converters))
    _SELECTS[key] = made
    return made


def rows_where[M: Model](model: type[M], *, order_by: str = "", **equals: Any) -> list[M]:
    """The rows of `model` whose fields (by name, a foreign key by its id) equal the given
    values, ordered by one field (`-name` for descending) when `order_by` is given."""
    select = _select(model, tuple(equals), order_by)
    params = [
        field.get_db_prep_value(value, connection)
        for field, value in zip(select.compared, equals.values(), strict=True)
    ]
    return _made(model, select, select.sql, params)


def rows_from[M: Model](model: type[M], sql: str, params: list[Any]) -> list[M]:
    """The rows a hand-written SELECT of every concrete column of `model`, in the model's
    order (`columns(model)`), answers, made into instances as `rows_where` makes them."""
    return _made(model, _select(model, (), ""), sql, params)


def columns(model: type[Model], *, qualified: bool = False) -> str:
    """The model's concrete columns, quoted, in the order `rows_from` reads them; with
    `qualified`, each with its table's name (for a statement that reads other tables too)."""
    quote = connection.ops.quote_name
    table = f"{quote(model._meta.db_table)}." if qualified else ""
    return ", ".join(f"{table}{quote(str(f.column))}" for f in model._meta.concrete_fields)


def tagged_rows_from[M: Model](model: type[M], sql: str, params: list[Any]) -> list[tuple[Any, M]]:
    """For a hand-written SELECT whose rows are one value, then every concrete column of
    `model`: each row's value with its instance, made as `rows_where` makes them (for a
    `UNION ALL` of rows found for different reasons, each tagged with its reason)."""
    with _cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    select = _select(model, (), "")
    return [(row[0], _instance(model, select, row[1:])) for row in found]


def _made[M: Model](model: type[M], select: _Select, sql: str, params: list[Any]) -> list[M]:
    with _cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    return [_instance(model, select, values) for values in found]


def _instance[M: Model](model: type[M], select: _Select, values: Any) -> M:
    if select.converters:
        values = list(values)
        for index, steps in select.converters:
            for fn, col in steps:
                values[index] = fn(values[index], col, connection)
    return model.from_db(DEFAULT_DB_ALIAS, select.attnames, values)


def insert_row(obj: Model, *, as_given: bool = False) -> None:
    """Insert `obj` as a new row, as `obj.save(force_insert=True)` does: every field's value
    prepared by the field (encrypted fields encrypt), automatic timestamps filled in unless
    `as_given` (then the row is stored exactly as set), and a key the database makes (an
    auto-increment id) set on `obj`. No signals are sent; Trellis uses none for its rows.
    For models of one table whose columns are all written by Django (no database defaults,
    no generated columns)."""
    key = obj._meta.pk
    assert key is not None
    make_key = getattr(obj, key.attname) is None
    if make_key and not connection.features.can_return_columns_from_insert:
        _insertable(obj._meta)
        obj.save_base(raw=as_given, force_insert=True)
        return
    sql, params = insert_statement(obj, as_given=as_given)
    with _cursor() as cursor:
        cursor.execute(sql, params)
        if make_key:
            row = cursor.fetchone()
            assert row is not None
            setattr(obj, key.attname, row[0])
    inserted(obj)


def insert_statement(
    obj: Model, *, as_given: bool = False, where: str = ""
) -> tuple[str, list[Any]]:
    """The INSERT `insert_row` sends for `obj`, with its parameters, for a caller that sends
    it within a larger statement (a PostgreSQL `WITH`). When the database makes the key the
    statement ends in `RETURNING` it; the caller sets it on `obj` and calls `inserted`.
    With `where` (a condition, its parameters the caller's to add after these), the row is
    inserted only when it holds: `INSERT ... SELECT <values> WHERE <condition>`."""
    meta = obj._meta
    key = meta.pk
    assert key is not None
    make_key = getattr(obj, key.attname) is None
    shape = _insert(type(obj), make_key=make_key)
    rows = (
        f"SELECT {shape.placeholders} WHERE {where}" if where else f"VALUES ({shape.placeholders})"
    )
    returning = f" RETURNING {shape.key}" if make_key else ""
    params = [
        f.get_db_prep_save(
            getattr(obj, f.attname) if as_given else f.pre_save(obj, True), connection
        )
        for f in shape.fields
    ]
    return f"{shape.into} {rows}{returning}", params


@dataclass(frozen=True)
class _Insert:
    """An INSERT of one model, worked out once: the fields it writes, `INSERT INTO table
    (columns)`, a placeholder for each field, and the key's quoted column."""

    fields: list[Any]
    into: str
    placeholders: str
    key: str


_INSERTS: dict[tuple[Any, ...], _Insert] = {}


def _insert(model: type[Model], *, make_key: bool) -> _Insert:
    """The INSERT of `model` (without its key when the database makes it), once per model."""
    found = _INSERTS.get((model, connection.vendor, make_key))
    if found is not None:
        return found
    meta = model._meta
    _insertable(meta)
    key = meta.pk
    assert key is not None
    fields = [f for f in meta.concrete_fields if not (make_key and f is key)]
    quote = connection.ops.quote_name
    made = _Insert(
        fields=fields,
        into=f"INSERT INTO {quote(meta.db_table)} "
        f"({', '.join(quote(str(f.column)) for f in fields)})",
        placeholders=", ".join(["%s"] * len(fields)),
        key=quote(str(key.column)),
    )
    _INSERTS[(model, connection.vendor, make_key)] = made
    return made


def inserted(obj: Model) -> None:
    """Mark `obj` as a stored row, as `save()` does once it has inserted it."""
    obj._state.adding = False
    obj._state.db = connection.alias


_INSERTABLE: set[Any] = set()  # the models checked once


def _insertable(meta: Any) -> Any:
    if meta in _INSERTABLE:
        return meta
    if meta.parents or any(f.generated or f.has_db_default() for f in meta.concrete_fields):
        raise ValueError(f"a {meta.label} cannot be inserted from its metadata: use save()")
    _INSERTABLE.add(meta)
    return meta


@dataclass(frozen=True)
class _Then:
    sql: str
    params: tuple[Any, ...]
    returning: type[Model] | None


@dataclass(frozen=True)
class _Part:
    obj: Model
    as_given: bool
    pointer: tuple[type[Model], str] | None  # a row of this model whose field holds obj's key


class Inserts:
    """New rows written together, all or none: one statement on PostgreSQL (a `WITH` of
    their INSERTs), a transaction of separate INSERTs elsewhere. For the rows an action
    adds beside its own (its engagement event, its audit row), which need nothing back
    but their keys. `pointed_at_by=(Model, field)` adds, after a row, a row of `Model`
    whose `field` holds the new row's key (an audit event's pending row, for example).
    """

    _claim_sql: str | None = None
    _claim_params: tuple[Any, ...] = ()

    def __init__(self) -> None:
        self._parts: list[_Part] = []
        self._thens: list[_Then] = []
        self._returned: list[Any] = []

    def add(
        self,
        obj: Model,
        *,
        as_given: bool = False,
        pointed_at_by: tuple[type[Model], str] | None = None,
    ) -> None:
        _insertable(obj._meta)
        self._parts.append(_Part(obj, as_given, pointed_at_by))

    def run(self) -> bool:
        """Write the rows (for `ClaimedInserts`, only if the claim went in: True when it did)."""
        if connection.vendor == "postgresql":
            return self._as_one_statement()
        # No savepoint inside the caller's transaction: a failed row dooms all of it.
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            if self._claim_sql is not None:
                cursor.execute(self._claim_sql, self._claim_params)
                claim = cursor.fetchone()
                if claim is None:
                    return False
                names = ", ".join(connection.ops.quote_name(d[0]) for d in cursor.description)
                as_claim = f"WITH claim({names}) AS (VALUES ({', '.join(['%s'] * len(claim))})) "
                for then in self._thens:
                    cursor.execute(as_claim + then.sql, [*claim, *then.params])
                    if then.returning is not None:
                        self._returned = _instances(then.returning, cursor.fetchall())
            for part in self._parts:
                insert_row(part.obj, as_given=part.as_given)
                if part.pointer is not None:
                    model, name = part.pointer
                    field = _field(model._meta, name)
                    quote = connection.ops.quote_name
                    cursor.execute(
                        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608 (names from the model)
                        f"({quote(str(field.column))}) VALUES (%s)",
                        [part.obj.pk],
                    )
        return True

    def _as_one_statement(self) -> bool:
        parts = ((type(p.obj), _makes_key(p.obj), p.pointer) for p in self._parts)
        thens = ((t.sql, t.returning) for t in self._thens)
        shape = (self._claim_sql, *thens, *parts)
        sql = _TOGETHER.get(shape)
        if sql is None:
            sql = _TOGETHER[shape] = _together_statement(self._claim_sql, self._thens, self._parts)
        params = list(self._claim_params)
        for then in self._thens:
            params += then.params
        for part in self._parts:
            params += insert_statement(part.obj, as_given=part.as_given)[1]
        with _cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        row = rows[0]
        if not row[0]:
            return False
        keys = len(self._parts) + 1
        returning = next((t.returning for t in self._thens if t.returning is not None), None)
        if returning is not None:
            pk = keys + _select(returning, (), "").attnames.index(returning._meta.pk.attname)
            self._returned = _instances(returning, [r[keys:] for r in rows if r[pk] is not None])
        for part, key in zip(self._parts, row[1:keys], strict=True):
            if _makes_key(part.obj):
                meta_key = part.obj._meta.pk
                assert meta_key is not None
                setattr(part.obj, meta_key.attname, key)
            inserted(part.obj)
        return True


class ClaimedInserts(Inserts):
    """New rows written only if a claim goes in, all or none: one statement on PostgreSQL.

    The claim is an `INSERT ... ON CONFLICT DO NOTHING RETURNING <column>` (an idempotency
    claim, for example); each row added is inserted only if the claim inserted its own. On
    PostgreSQL the claim and the rows are one `WITH` statement, each row's INSERT selecting
    its values from the claim's result, so nothing needs a transaction of its own and a
    conflicting claim writes nothing. Elsewhere they are separate statements in a
    transaction. `run` answers whether the claim went in.
    """

    def __init__(self, claim_sql: str, claim_params: list[Any]) -> None:
        super().__init__()
        self._claim_sql = claim_sql
        self._claim_params = tuple(claim_params)

    def then(self, sql: str, params: list[Any], *, returning: type[Model] | None = None) -> None:
        """A statement that runs only if the claim went in, after it and before the rows:
        an UPDATE that reads the claim's row as `claim` (`UPDATE ... FROM claim`). On
        PostgreSQL it is one more part of the one statement; elsewhere it runs on its own,
        with `claim` the claim's row as a `WITH`. With `returning` it ends in `RETURNING`
        every concrete column of that model (`columns(model, qualified=True)`), and after
        `run` `returned` holds them as instances. At most one statement returns rows."""
        assert returning is None or all(t.returning is None for t in self._thens)
        self._thens.append(_Then(sql, tuple(params), returning))

    @property
    def returned(self) -> list[Any]:
        """The rows the returning `then` statement wrote, once `run` has written them."""
        return self._returned


_TOGETHER: dict[tuple[Any, ...], str] = {}


def _makes_key(obj: Model) -> bool:
    key = obj._meta.pk
    assert key is not None
    return getattr(obj, key.attname) is None


def _instances[M: Model](model: type[M], rows: list[Any]) -> list[M]:
    select = _select(model, (), "")
    return [_instance(model, select, row) for row in rows]


def _together_statement(claim_sql: str | None, thens: list[_Then], parts: list[_Part]) -> str:
    """The PostgreSQL `WITH` of `Inserts`: the claim if there is one, the statements that
    follow it, then each row (from the claim's result, or its own values); it answers
    whether the claim went in and each row's key, beside each row a `then` returns (one
    answer with nulls when it returns none)."""
    quote = connection.ops.quote_name
    ctes = [f"claim AS ({claim_sql})"] if claim_sql is not None else []
    ctes += [f"then{index} AS ({then.sql})" for index, then in enumerate(thens)]
    keys = []
    for index, part in enumerate(parts):
        shape = _insert(type(part.obj), make_key=_makes_key(part.obj))
        key = shape.key
        values = (
            f"SELECT {shape.placeholders} FROM claim"  # noqa: S608 (placeholders only)
            if claim_sql is not None
            else f"VALUES ({shape.placeholders})"
        )
        ctes.append(f"row{index} AS ({shape.into} {values} RETURNING {key})")
        keys.append(f"(SELECT {key} FROM row{index})")  # noqa: S608 (names from the model)
        if part.pointer is not None:
            model, name = part.pointer
            column = quote(str(_field(model._meta, name).column))
            ctes.append(
                f"points{index} AS (INSERT INTO {quote(model._meta.db_table)} ({column}) "  # noqa: S608
                f"SELECT {key} FROM row{index})"
            )
    went_in = "EXISTS (SELECT 1 FROM claim)" if claim_sql is not None else "TRUE"
    answers = ", ".join([went_in, *keys])
    returning = next((i for i, then in enumerate(thens) if then.returning is not None), None)
    if returning is None:
        return f"WITH {', '.join(ctes)} SELECT {answers}"
    return (
        f"WITH {', '.join(ctes)} SELECT {answers}, then{returning}.* "  # noqa: S608 (names from the models)
        f"FROM (SELECT 1) AS one LEFT JOIN then{returning} ON TRUE"
    )
