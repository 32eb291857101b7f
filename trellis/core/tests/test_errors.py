"""A service's refusal reaches the person next to the field, on a page or in the API."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from trellis.core.errors import add_to_form, error_list


class NoteForm(forms.Form):
    body = forms.CharField(required=False)


def test_a_refusal_naming_a_field_is_one_api_error_row_a_message() -> None:
    error = ValidationError({"body": ["Write the note.", "Keep it short."], "__all__": ["No."]})
    assert error_list(error) == [
        {"field": "body", "message": "Write the note."},
        {"field": "body", "message": "Keep it short."},
        {"field": "body", "message": "No."},
    ]


def test_a_refusal_naming_no_field_is_about_the_whole_request() -> None:
    assert error_list(ValidationError("The program has ended.")) == [
        {"field": "body", "message": "The program has ended."}
    ]


def test_a_refusal_shows_next_to_the_field_it_names_else_at_the_top_of_the_form() -> None:
    form = NoteForm({"body": "hello"})
    assert form.is_valid()
    add_to_form(form, ValidationError({"body": "Too long.", "status": "Already decided."}))
    assert form.errors["body"] == ["Too long."]
    assert form.non_field_errors() == ["Already decided."]


def test_a_plain_refusal_goes_to_the_top_of_the_form() -> None:
    form = NoteForm({"body": "hello"})
    assert form.is_valid()
    add_to_form(form, ValidationError(["First.", "Second."]))
    assert form.non_field_errors() == ["First.", "Second."]
