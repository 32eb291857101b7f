"""`trellis content`: check, publish, compare and list content packs.

check DIR          every problem in the pack at DIR (or in each pack folder inside DIR), and
                   in each questionnaire file there (instrument.yaml, NAME.instrument.yaml;
                   DIR may also be one such file), one `file:line: reason` a line;
                   exit 0 only when there is none.
publish DIR        check, then import the pack(s) as each program's next version.
diff SLUG A B      what changed between versions A and B of a program.
list               every program and its published versions.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from trellis.accounts.models import User
from trellis.programs import queries
from trellis.programs.diff import diff_sources, format_changes
from trellis.programs.instruments import check_instruments
from trellis.programs.packs import PackError, Problem, find_packs, load_pack
from trellis.programs.services import publish_pack


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class Command(BaseCommand):
    help = "Check, publish, compare and list content packs (programs)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{check,publish,diff,list}"
        )
        check = sub.add_parser(
            "check", help="Report every problem in a pack or questionnaire file, with file:line."
        )
        check.add_argument(
            "folder",
            help="A pack folder, a folder of packs (e.g. content/), or questionnaire files.",
        )
        publish = sub.add_parser("publish", help="Publish a checked pack as a new version.")
        publish.add_argument("folder", help="A pack folder, or a folder of packs.")
        publish.add_argument("--by", help="E-mail of the person publishing (for the audit trail).")
        diff = sub.add_parser("diff", help="Show what changed between two versions.")
        diff.add_argument("slug")
        diff.add_argument("old", type=int, help="Version number, e.g. 1")
        diff.add_argument("new", type=int, help="Version number, e.g. 2")
        sub.add_parser("list", help="List programs and their published versions.")

    def handle(self, *args: Any, **options: Any) -> None:
        match options["subcommand"]:
            case "check":
                self.check_packs(Path(options["folder"]))
            case "publish":
                self.publish(Path(options["folder"]), options.get("by"))
            case "diff":
                self.diff(options["slug"], options["old"], options["new"])
            case _:
                self.list_programs()

    def _packs(self, folder: Path) -> list[Path]:
        packs = find_packs(folder)
        if not packs:
            raise CommandError(f"{folder}: no pack.yaml here or in the folders inside it")
        return packs

    def _print_problems(self, folder: Path, problems: list[Problem]) -> None:
        for problem in problems:
            self.stdout.write(problem.located_in(folder))

    def check_packs(self, folder: Path) -> None:

        instruments = check_instruments(folder)
        packs = find_packs(folder) if folder.is_dir() else []
        if not packs and not instruments:
            raise CommandError(
                f"{folder}: no pack.yaml here or in the folders inside it, and no "
                "questionnaire file (NAME.instrument.yaml)"
            )
        total = 0
        for path, problems in instruments.items():
            total += len(problems)
            self._print_problems(path.parent, problems)
            found = _plural(len(problems), "problem") if problems else "no problems"
            self.stdout.write(f"{path}: {found}")
        for pack_folder in packs:
            problems = load_pack(pack_folder).problems
            total += len(problems)
            if problems:
                self._print_problems(pack_folder, problems)
                self.stdout.write(f"{pack_folder}: {_plural(len(problems), 'problem')}")
            else:
                self.stdout.write(f"{pack_folder}: no problems")
        if total:
            raise CommandError(f"{_plural(total, 'problem')} found", returncode=1)

    def publish(self, folder: Path, by: str | None) -> None:
        actor = None
        if by:
            actor = User.objects.filter(email__iexact=by).first()
            if actor is None:
                raise CommandError(f"there is no account with the e-mail {by}")
        refused = 0
        for pack_folder in self._packs(folder):
            latest_before = queries.latest_version(load_pack(pack_folder).slug)
            try:
                version = publish_pack(pack_folder, actor=actor)
            except PackError as error:
                refused += 1
                self._print_problems(pack_folder, error.problems)
                self.stdout.write(
                    f"{pack_folder}: not published, {_plural(len(error.problems), 'problem')}"
                )
                continue
            slug = version.program.slug
            if latest_before is not None and latest_before.pk == version.pk:
                self.stdout.write(f"{slug}: unchanged, version {version.number} is the latest")
            else:
                self.stdout.write(f"{slug}: published version {version.number}")
        if refused:
            raise CommandError(f"{_plural(refused, 'pack')} not published", returncode=1)

    def diff(self, slug: str, old: int, new: int) -> None:
        before, after = queries.version(slug, old), queries.version(slug, new)
        for number, found in ((old, before), (new, after)):
            if found is None:
                raise CommandError(f"{slug} has no version {number} (see `trellis content list`)")
        assert before is not None and after is not None
        changes = diff_sources(before.source, after.source)
        self.stdout.write(format_changes(changes, f"{slug}: version {old} → version {new}"))

    def list_programs(self) -> None:
        programs = list(queries.programs_with_versions())
        if not programs:
            self.stdout.write("No programs are published yet.")
            return
        for program in programs:
            self.stdout.write(f"{program.slug}  {program.title}")
            for version in program.versions.all():
                when = timezone.localtime(version.created_at).strftime("%Y-%m-%d %H:%M")
                who = version.published_by.email if version.published_by else "operator"
                steps = _plural(getattr(version, "step_count", 0), "step")
                self.stdout.write(
                    f"  v{version.number:<3} {when}  {steps:<9} by {who}  {version.checksum[:12]}"
                )
