"""The language Trellis speaks to each person.

A person who chose a language on their account page (`User.language`) always gets it;
anyone else, and every signed-out page, gets the best match for the browser's
Accept-Language header (Django's LocaleMiddleware, which runs first), or English. A code
that is no longer offered (a language removed from settings) counts as no choice, so a
page never breaks over a stale setting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _


def offered() -> list[tuple[str, str]]:
    """The languages the interface speaks, as (code, name in its own language)."""
    return [(code, str(name)) for code, name in settings.LANGUAGES]


def is_offered(code: str) -> bool:
    return code in {c for c, _name in settings.LANGUAGES}


def chosen_language(user: Any) -> str:
    """The person's own choice if it is still offered, else blank (follow the browser)."""
    code = getattr(user, "language", "") or ""
    return code if is_offered(code) else ""


def language_for(user: Any, fallback: str = "") -> str:
    """The language to write to this person in (an e-mail sent while someone else's page
    is open): their own choice, else `fallback`, else the clinic default, English."""
    return chosen_language(user) or fallback or settings.LANGUAGE_CODE


class PersonLanguageMiddleware:
    """After authentication: switch to the signed-in person's chosen language.

    LocaleMiddleware has already activated the browser's language (or the cookie set by
    the sign-in page's switcher); a person's own choice overrides both. The response's
    Content-Language header follows, since LocaleMiddleware sets it from the language
    active when the response leaves.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            code = chosen_language(user)
            if code:
                translation.activate(code)
                request.LANGUAGE_CODE = code
        return self.get_response(request)


class LanguageForm(forms.Form):
    """Choose the language of every page and e-mail; blank follows the browser."""

    language = forms.ChoiceField(
        label=_("Show Trellis in"),
        required=False,
        help_text=_("Pages and e-mails from Trellis use this language."),
        error_messages={"invalid_choice": _("Choose a language from the list.")},
    )

    def __init__(self, *args: Any, signed_in: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["language"]
        assert isinstance(field, forms.ChoiceField)
        follow = [("", _("The same as my browser"))] if signed_in else []
        field.choices = [*follow, *offered()]
        field.required = not signed_in
        field.widget.attrs.update({"aria-describedby": "id_language_helptext"})
