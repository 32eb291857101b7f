"""The questionnaire form: one group of radio buttons per item, with the instrument's own
wording and answer options (from its data file), so the page shows exactly the
published questionnaire.

The form checks the shape of the answers for the page (every item answered, each with
one of its options) and ties each message to its item. The measures service checks
again and is the authority: it also stores a safety answer even when the rest of the
form is incomplete, so views pass `raw_answers()` to it whether or not the form is valid.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trellis.accounts.forms import AccessibleForm

FIELD_PREFIX = "item-"


@dataclass(frozen=True)
class ItemField:
    """What the template needs to draw one item."""

    number: int
    item_id: str
    name: str
    text: str
    options: list[tuple[str, str, str]]  # (value, label, input id)
    chosen: str
    required: bool
    error: str
    legend_id: str
    error_id: str


def _options_for(instrument: Any, item: Any) -> Sequence[Any]:
    """An item's own options if the instrument gives them per item, else the instrument's."""
    if hasattr(instrument, "options_for"):
        return instrument.options_for(item)
    return getattr(item, "options", None) or instrument.options


class QuestionnaireForm(AccessibleForm):
    """One instrument's items as required radio groups, plus a client id.

    The client id is made when the empty form is drawn, so sending the same page twice
    (a double tap, a retry on a slow connection) is recognised and counted once.
    """

    client_id = forms.UUIDField(
        widget=forms.HiddenInput,
        error_messages={
            "required": gettext_lazy("This form is out of date. Please try again."),
            "invalid": gettext_lazy("This form is out of date. Please try again."),
        },
    )

    def __init__(self, instrument: Any, data: Mapping[str, Any] | None = None, **kwargs: Any):
        super().__init__(data=data, **kwargs)
        self.instrument = instrument
        self.item_names: dict[str, str] = {}
        total = len(instrument.items)
        for number, item in enumerate(instrument.items, start=1):
            name = f"{FIELD_PREFIX}{item.id}"
            self.item_names[str(item.id)] = name
            missing = _("Please choose an answer to question %(n)s.") % {"n": number}
            self.fields[name] = forms.TypedChoiceField(
                label=item.text,
                choices=[(str(o.value), o.label) for o in _options_for(instrument, item)],
                coerce=int,
                required=bool(getattr(item, "required", True)),
                widget=forms.RadioSelect,
                error_messages={
                    "required": missing,
                    "invalid_choice": _("Please choose one of the answers to question %(n)s.")
                    % {"n": number},
                },
            )
            self.fields[name].question_number = number  # type: ignore[attr-defined]
            self.fields[name].question_count = total  # type: ignore[attr-defined]
        if not self.is_bound:
            self.initial.setdefault("client_id", str(uuid.uuid4()))

    # Values for the service -------------------------------------------------------------

    def raw_answers(self) -> dict[str, Any]:
        """The answers as sent, by item id: numbers where they are numbers, anything else
        as given (the service names it as invalid), unanswered items left out."""
        answers: dict[str, Any] = {}
        if not self.is_bound:
            return answers
        for item_id, name in self.item_names.items():
            value = self.data.get(name)
            if value in (None, ""):
                continue
            try:
                answers[item_id] = int(str(value).strip())
            except ValueError:
                answers[item_id] = value
        return answers

    def answers(self) -> dict[str, int]:
        """The checked answers by item id (call after is_valid())."""
        return {item_id: self.cleaned_data[name] for item_id, name in self.item_names.items()}

    def client_id_value(self) -> uuid.UUID | None:
        """The client id, even when an item is unanswered (None if it is missing or bad)."""
        if self.is_bound and "client_id" in getattr(self, "cleaned_data", {}):
            value: uuid.UUID = self.cleaned_data["client_id"]
            return value
        raw = self.data.get("client_id") if self.is_bound else self.initial.get("client_id")
        try:
            return uuid.UUID(str(raw))
        except (TypeError, ValueError):
            return None

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's refusal: messages about an item next to that item, the rest at
        the top of the form (the questionnaire's own `add_to_form`)."""
        by_field = error.message_dict if hasattr(error, "error_dict") else {}
        self.add_item_errors(by_field or {"__all__": error.messages})

    def add_item_errors(self, errors: Mapping[str, Any]) -> None:
        """Show the service's messages (keyed by item id) next to their items."""
        for key, messages in errors.items():
            name = self.item_names.get(str(key))
            if name is None and key in self.fields:
                name = key
            if name is not None and self.errors.get(name):
                continue  # the item already says what is wrong, in the form's words
            for message in messages if isinstance(messages, list | tuple) else [messages]:
                if name is not None:
                    self.add_error(name, str(message))
                elif str(message) not in self.non_field_errors():
                    self.add_error(None, str(message))

    # Drawing ------------------------------------------------------------------------------

    def items(self) -> list[ItemField]:
        """The items in order, with their options, the chosen value and any message."""
        rows = []
        for item_id, name in self.item_names.items():
            field = self.fields[name]
            bound = self[name]
            chosen = "" if bound.value() in (None, "") else str(bound.value())
            options = [
                (str(value), str(label), f"{name}-{index}")
                for index, (value, label) in enumerate(field.choices)  # type: ignore[attr-defined]
            ]
            errors = self.errors.get(name) if self.is_bound else None
            rows.append(
                ItemField(
                    number=field.question_number,  # type: ignore[attr-defined]
                    item_id=item_id,
                    name=name,
                    text=str(field.label),
                    options=options,
                    chosen=chosen,
                    required=field.required,
                    error=" ".join(str(e) for e in errors) if errors else "",
                    legend_id=f"{name}-legend",
                    error_id=f"{name}-error",
                )
            )
        return rows

    def error_count(self) -> int:
        if not self.is_bound:
            return 0
        return sum(1 for name in self.item_names.values() if self.errors.get(name))

    def first_error_id(self) -> str:
        for item in self.items():
            if item.error:
                return item.error_id
        return ""
