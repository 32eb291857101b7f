"""The account page's own settings (the sign-in forms themselves live in accounts.forms)."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


@cache
def zone_names() -> list[str]:
    """Every IANA zone a person might work in, by name (no bare aliases like "EST")."""
    return sorted(
        z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/")
    )


class TimeZoneForm(forms.Form):
    """The zone a member of staff reads times in; blank follows their clinic."""

    time_zone = forms.ChoiceField(
        label=_("Show times in"),
        required=False,
        help_text=_("Pages you read show every time in this zone."),
        error_messages={"invalid_choice": _("Choose a time zone from the list.")},
    )

    def __init__(self, *args: Any, clinic_zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("", _("The clinic's zone (%(zone)s)") % {"zone": clinic_zone}),
            *((name, name.replace("_", " ")) for name in zone_names()),
        ]
        field.widget.attrs.update(
            {"aria-describedby": "id_time_zone_helptext", "autocomplete": "off"}
        )
