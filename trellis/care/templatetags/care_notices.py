"""Shows a patient, on Today, that their care team changed their level of support."""

from __future__ import annotations

from typing import Any

from django import template

from trellis.care.queries import current_enrollment, support_change_notices
from trellis.core import timeutil

register = template.Library()


@register.simple_tag(takes_context=True)
def support_changes(context: Any) -> list[str]:
    """Plain-words notices of recent confirmed changes of support for the signed-in patient."""

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    enrollment = context.get("enrollment") or current_enrollment(user)
    if enrollment is None or enrollment.patient_id != user.pk:
        return []
    return support_change_notices(enrollment, now=timeutil.now())
