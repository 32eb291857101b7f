"""Changing a clinic's own settings: its name, time zone, locale and crisis resources."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import Organization, User
from trellis.core import timeutil

LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Z]{2}|-[0-9]{3})?$")
SETTINGS_FIELDS = ("name", "time_zone", "locale", "crisis_resources")


@transaction.atomic
def update_clinic_settings(
    *,
    organization: Organization,
    actor: User,
    name: str,
    time_zone: str,
    locale: str,
    crisis_resources: str,
) -> list[str]:
    """Save a clinic's settings; returns the names of the fields that changed.

    The crisis resources text is what a patient sees at once when an answer suggests
    risk, so it may not be left empty.
    """
    values = {
        "name": name.strip(),
        "time_zone": time_zone.strip(),
        "locale": locale.strip(),
        "crisis_resources": crisis_resources.strip(),
    }
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = _("A clinic needs a name.")
    if not timeutil.is_valid_zone(values["time_zone"]):
        errors["time_zone"] = _("Use a time zone name such as America/New_York or Europe/Helsinki.")
    if not LOCALE_PATTERN.match(values["locale"]):
        errors["locale"] = _("Use a locale such as en-US or fi-FI.")
    if not values["crisis_resources"]:
        errors["crisis_resources"] = _("Patients must always be told where to find urgent help.")
    if errors:
        raise ValidationError(errors)
    org = Organization.objects.select_for_update().get(pk=organization.pk)
    changed = [field for field in SETTINGS_FIELDS if getattr(org, field) != values[field]]
    if not changed:
        return []
    for field in changed:
        setattr(org, field, values[field])
    org.full_clean()
    org.save(update_fields=[*changed, "updated_at"])
    for field in changed:
        setattr(organization, field, values[field])
    audit.record(
        action="organization.update",
        actor=actor,
        subject=org,
        organization=org,
        details={"fields": changed},
    )
    return changed
