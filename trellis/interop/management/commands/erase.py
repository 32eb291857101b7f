"""`trellis erase --clinic SLUG --patient EMAIL --by ADMIN_EMAIL --reason TEXT`: erase a
patient's record on a request made outside Trellis (by phone, by letter, in person), by a
clinic admin, under the same rules as the page. Prints what was removed."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from trellis.accounts.models import Organization, User
from trellis.accounts.queries import Capability, can
from trellis.core import timeutil
from trellis.interop.erasure import queries
from trellis.interop.erasure.services import ErasureRefused, erase_person, open_request


class Command(BaseCommand):
    help = "Erase a patient's record on their request (by a clinic admin, with a reason)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--clinic", required=True, metavar="SLUG")
        parser.add_argument("--patient", required=True, metavar="EMAIL")
        parser.add_argument("--by", required=True, metavar="ADMIN_EMAIL")
        parser.add_argument("--reason", required=True, help="How the patient asked.")

    def handle(self, *args: Any, **options: Any) -> None:
        clinic = Organization.objects.filter(slug=options["clinic"]).first()
        if clinic is None:
            raise CommandError(f"No clinic has the slug {options['clinic']!r}.")
        admin = User.objects.filter(email__iexact=options["by"], is_active=True).first()
        if admin is None or not can(admin, Capability.MANAGE_SETTINGS, clinic):
            raise CommandError(f"{options['by']} is not an admin of {clinic.slug}.")
        person = queries.patient_of(clinic, options["patient"])
        if person is None:
            raise CommandError(f"No patient of {clinic.slug} has the address {options['patient']}.")
        try:
            erasure = erase_person(
                person,
                organization=clinic,
                by=admin,
                reason=options["reason"],
                on_request=True,
                request=open_request(person),
                now=timeutil.now(),
            )
        except ErasureRefused as refused:
            raise CommandError(
                "Not erased: " + " ".join(f"[{r.rule}] {r.message}" for r in refused.refusals)
            ) from None
        self.stdout.write(f"Erased {erasure.person_id}:")
        self.stdout.write(json.dumps(erasure.counts, indent=2, sort_keys=True))
