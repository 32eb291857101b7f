"""`trellis i18n extract | compile | check`: keep every interface string translated.

extract   refresh trellis/locale/*/LC_MESSAGES/django.po from the code (GNU gettext's
          xgettext must be installed, as for Django's makemessages)
compile   write the .mo files from the .po files (pure Python; no msgfmt needed)
check     list every untranslated or fuzzy string, broken placeholder, stale .mo and
          unmarked template text; exits 1 if there is any
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from trellis.core import i18n


class Command(BaseCommand):
    help = "Extract, compile or check the interface translations (see docs/languages.md)."
    requires_system_checks = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["extract", "compile", "check"])

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "extract":
            if not i18n.can_extract():
                raise CommandError("Extracting needs GNU gettext (xgettext); install gettext.")
            i18n.extract()
            self.stdout.write("Catalogues refreshed; translate the new entries, then compile.")
        elif action == "compile":
            for path in i18n.compile_catalogues():
                self.stdout.write(f"wrote {path.relative_to(i18n.root())}")
        else:
            found = i18n.shipped_findings()
            if i18n.can_extract():
                found += i18n.extraction_findings()
            else:
                self.stdout.write(
                    "xgettext not installed: the code was not scanned for new strings."
                )
            for finding in found:
                self.stdout.write(str(finding))
            if found:
                self.stdout.write(f"{len(found)} problem(s).")
                sys.exit(1)
            self.stdout.write("Every interface string is translated.")
