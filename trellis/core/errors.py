"""A service's refusal, shown where the person meets it.

Services refuse with Django's ValidationError, naming the field at fault where there is
one. A page shows each message next to that field (`add_to_form`); the API answers 422
with the same messages as `{"field": ..., "message": ...}` (`error_list`). A message
about no field in particular goes to the top of the form, or to the field "body".

A `Conflict` is a refusal because the request conflicts with what exists: a page shows it
like any other, the API answers it 409 instead of 422. The API's error body and the way
operations declare their refusals are in `trellis.core.schemas`.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

WHOLE_REQUEST = "body"


class Conflict(ValidationError):
    """A refusal because the request conflicts with what exists (a client id already used
    for something else): shown on a page like any refusal, answered 409 by the API."""


def error_list(error: ValidationError) -> list[dict[str, str]]:
    """The refusal as the `errors` of an API error body: one row a message."""
    if not hasattr(error, "error_dict"):
        return [{"field": WHOLE_REQUEST, "message": message} for message in error.messages]
    return [
        {"field": WHOLE_REQUEST if field == NON_FIELD_ERRORS else field, "message": message}
        for field, messages in error.message_dict.items()
        for message in messages
    ]


def add_to_form(form: forms.BaseForm, error: ValidationError) -> None:
    """Show the refusal on a form: next to the field it names, or at the top of the form
    when it names no field the form has."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for field, messages in error.message_dict.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)
