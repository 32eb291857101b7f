"""Trellis's default consent documents, from the Markdown files in care/consent_texts/.

Re-runnable: a document that already exists (same kind, locale and version, no clinic) is
left as it is, because a published consent text never changes. A new text is a new file
with a higher version, added by a later migration that runs this same function.
"""

from pathlib import Path

from django.db import migrations
from django.utils import timezone

TEXTS = Path(__file__).resolve().parents[1] / "consent_texts"


def _parse(path):
    text = path.read_text(encoding="utf-8")
    _, head, body = text.split("---\n", 2)
    meta = {}
    for line in head.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            meta[key.strip()] = value.strip()
    return meta, body.strip() + "\n"


def load_defaults(apps, schema_editor):
    ConsentDocument = apps.get_model("care", "ConsentDocument")
    for path in sorted(TEXTS.glob("*.md")):
        meta, body = _parse(path)
        exists = ConsentDocument.objects.filter(
            organization__isnull=True,
            kind=meta["kind"],
            locale=meta.get("locale", "en"),
            version=int(meta["version"]),
        ).exists()
        if exists:
            continue
        ConsentDocument.objects.create(
            organization=None,
            kind=meta["kind"],
            version=int(meta["version"]),
            locale=meta.get("locale", "en"),
            title=meta["title"],
            body=body,
            required=meta.get("required", "true").lower() == "true",
            published_at=timezone.now(),
        )


class Migration(migrations.Migration):
    dependencies = [("care", "0003_preferences_contact_and_patient_invitations")]

    operations = [migrations.RunPython(load_defaults, migrations.RunPython.noop)]
