"""What every router of the JSON API shares, so that /api/v1/openapi.json tells the truth.

- `ErrorOut`: the API's one error body, `{"detail": ..., "errors": [{"field", "message"}]}`.
- `refusals(...)`: the statuses an operation can refuse with, for its `response=`
  declaration, each with `ErrorOut` as its body.
- `RequestBody`: the base of every JSON request body; anything but a JSON object is 422
  (ninja's Schema would read a string or a list as an object with every field defaulted).
- `WHOLE`: makes an integer field refuse `true` and `"5"`, as the document promises;
  `TEXT_DATE_TIME` makes a date-time field refuse a number (read as seconds since 1970).
- `OneOf(...)`: a text field that takes one value of a fixed list (a filter: or "" for
  any), listed in the document, refused with one message naming the values.
- `NOT_BLANK` and `refused_without(...)`: what the document says about fields whose
  service, not the model, refuses a value, so the service keeps its clear message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ninja import Schema
from pydantic import (
    BeforeValidator,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ModelWrapValidatorHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema


class ErrorItem(Schema):
    """One problem with one field of the request ("body": the request as a whole)."""

    field: str
    message: str


class ErrorOut(Schema):
    """The API's one error body: a sentence for people, and the fields at fault."""

    detail: str
    errors: list[ErrorItem]


def refusals(*statuses: int) -> dict[int, type[ErrorOut]]:
    """An operation's error answers for its `response=` declaration, each an `ErrorOut`:
    `response={200: PersonOut, **refusals(401, 404, 422)}`."""
    return dict.fromkeys(statuses, ErrorOut)


class RequestBody(Schema):
    """A JSON request body: an object, whatever fields it has."""

    @model_validator(mode="wrap")
    @classmethod
    def _an_object(cls, value: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        if not isinstance(value, dict | RequestBody):
            raise PydanticCustomError("object_type", "Send a JSON object.")
        return handler(value)


def _not_true_or_text(value: Any) -> Any:
    if isinstance(value, bool | str):
        raise PydanticCustomError("int_type", "Enter a whole number.")
    return value


# A whole number in a request body: 3 and 3.0, never true or "3". It goes after the bounds,
# which the document then shows: `score: Annotated[int, Field(ge=1, le=10), WHOLE]`.
WHOLE = BeforeValidator(_not_true_or_text)


def _text_only(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError(
            "datetime_type", "Enter a date and time such as 2026-03-31T09:00:00+02:00."
        )
    return value


# A date and time in a request body, written as ISO 8601 text: `Annotated[datetime, ...]`.
TEXT_DATE_TIME = BeforeValidator(_text_only)


@dataclass(frozen=True)
class OneOf:
    """A text field's fixed list of values: `kind: Annotated[str, OneOf(("", *AlertKind.values))]`.

    One enum in the document and one error naming the values (a union of an enum and ""
    would give an error for each member, under names the caller never sent)."""

    values: tuple[str, ...]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        document = handler(schema)
        document["enum"] = list(self.values)
        return document

    def _check(self, value: str) -> str:
        if value not in self.values:
            named = ", ".join(v for v in self.values if v)
            blank = " (or leave it blank)" if "" in self.values else ""
            raise PydanticCustomError("enum", f"Choose one of {named}{blank}.")
        return value


# In the document only, on a text field whose service refuses (422, with its own clear
# message) a text of nothing but spaces: `Field(json_schema_extra=NOT_BLANK)`.
NOT_BLANK: dict[str, Any] = {"pattern": r"\S"}


def refused_without(*names: str) -> Callable[[dict[str, Any]], None]:
    """A body's `json_schema_extra` when its service, not the model, refuses a request
    without `names` (422, after first doing what must not wait, such as acting on a safety
    answer): the document lists them as required, and never null."""

    def shape(schema: dict[str, Any]) -> None:
        schema["required"] = [*schema.get("required", []), *names]
        for name in names:
            field = schema["properties"][name]
            options = [o for o in field.pop("anyOf", []) if o.get("type") != "null"]
            if options:
                field.update(options[0])
            field.pop("default", None)

    return shape
