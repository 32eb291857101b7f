"""Connected systems for clinic admins: who may reach which backend client, and the forms
that register one or replace its keys.

Only a clinic's admins (the role that manages API tokens) see and change its backend
clients; a client of another clinic is 404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from trellis.accounts import queries
from trellis.accounts.forms import AccessibleForm
from trellis.accounts.queries import Capability
from trellis.interop.models import BackendClient
from trellis.interop.smart import keys, scopes
from trellis.interop.smart.types import readable_types

MANAGE = Capability.MANAGE_TOKENS


def clients_for(user: Any) -> QuerySet[BackendClient]:
    """The backend clients of every clinic where the person manages integrations."""
    return BackendClient.objects.filter(
        organization__in=queries.organizations_with(user, MANAGE)
    ).select_related("organization", "created_by")


def access_client(user: Any, pk: Any) -> BackendClient:
    return queries.get_or_404(clients_for(user), pk)


def scope_choices() -> list[tuple[str, str]]:
    labels = {
        scopes.ALL_READ: _("Read every kind of record (system/*.read)"),
        scopes.REFER: _("Send referrals (system/ServiceRequest.write)"),
    }
    return [
        (scope, str(labels.get(scope, scope))) for scope in scopes.allowed_choices(readable_types())
    ]


class KeySetFields(AccessibleForm):
    """The client's public keys: pasted as JSON, or uploaded as a file; one of the two."""

    jwks_text = forms.CharField(
        label=_("Public keys (JWK Set), pasted"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text=_(
            'The JSON the vendor of the system gives you, starting with {"keys": [. Public keys '
            "only: RSA of at least 2048 bits or EC P-384, each with a kid."
        ),
    )
    jwks_file = forms.FileField(
        label=_("…or upload the JWK Set file"),
        required=False,
        help_text=_("A .json file of at most 64 kB."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        text = (cleaned.get("jwks_text") or "").strip()
        upload = cleaned.get("jwks_file")
        if text and upload:
            self.add_error("jwks_text", _("Paste the key set or upload it, not both."))
            return cleaned
        if not text and not upload:
            self.add_error("jwks_text", _("Paste the client's JWK Set or upload it as a file."))
            return cleaned
        try:
            if upload:
                if upload.size > keys.MAX_JWKS_BYTES:
                    raise keys.KeyProblem(
                        str(_("The key set is too large: a JWK Set is a few kilobytes."))
                    )
                cleaned["jwks"] = keys.parse_jwks(upload.read())
            else:
                cleaned["jwks"] = keys.parse_jwks(text)
        except keys.KeyProblem as problem:
            self.add_error("jwks_file" if upload else "jwks_text", str(problem))
        return cleaned


class RegisterClientForm(KeySetFields):
    name = forms.CharField(
        label=_("Name"),
        max_length=120,
        help_text=_("What system this is, for example “Riverside EHR”. The audit trail shows it."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("What it may ask for"),
        choices=[],
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Read scopes let it read and export records; a referral scope lets it send referrals."
        ),
    )
    may_read_message_text = forms.BooleanField(
        label=_("Messages include their text"),
        required=False,
        help_text=_(
            "Unticked, the system sees that messages were exchanged, and when, but not what "
            "they said."
        ),
    )
    field_order = ["name", "jwks_text", "jwks_file", "scopes", "may_read_message_text"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = scope_choices()  # type: ignore[attr-defined]


class ReplaceKeysForm(KeySetFields):
    pass


class SetActiveForm(AccessibleForm):
    active = forms.TypedChoiceField(
        choices=[("1", _("Switch on")), ("0", _("Switch off"))],
        coerce=lambda value: value == "1",
    )
