"""Trellis's default reply templates: two or more short, warm starting points for each
supportive gesture. Re-runnable: each default is found by its key and brought up to date,
so running it again changes nothing, and a clinic's own templates are never touched."""

from pathlib import Path

import yaml
from django.db import migrations

DEFAULTS_FILE = Path(__file__).resolve().parents[1] / "default_templates.yaml"


def _defaults():
    rows = yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8"))
    return [(r["key"], r["gesture"], r["title"], r["body"]) for r in rows]


def seed(apps, schema_editor):
    ReplyTemplate = apps.get_model("messaging", "ReplyTemplate")
    for key, gesture, title, body in _defaults():
        existing = ReplyTemplate.objects.filter(organization__isnull=True, key=key).first()
        if existing is None:
            ReplyTemplate.objects.create(
                organization=None, key=key, gesture=gesture, title=title, body=body
            )
        elif (existing.gesture, existing.title, existing.body) != (gesture, title, body):
            existing.gesture, existing.title, existing.body = gesture, title, body
            existing.save(update_fields=["gesture", "title", "body", "updated_at"])


def unseed(apps, schema_editor):
    ReplyTemplate = apps.get_model("messaging", "ReplyTemplate")
    keys = [key for key, *_rest in _defaults()]
    ReplyTemplate.objects.filter(organization__isnull=True, key__in=keys).delete()


class Migration(migrations.Migration):
    dependencies = [("messaging", "0002_clinic_messaging_settings")]

    operations = [migrations.RunPython(seed, unseed)]
