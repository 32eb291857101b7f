"""Encrypt the reasons and notes written before their columns were encrypted (0007).

Re-runnable: values already encrypted are left under the newest key. Undoing it writes
them back as plain text, so 0007 can be undone after it.
"""

from django.db import migrations

from trellis.core.rotation import decrypt_existing, encrypt_existing

FIELDS = {
    "enrollment": ("end_reason", "suggestion_reason"),
    "steppedcarechange": ("reason", "decision_note", "patient_notice"),
}


def encrypt(apps, schema_editor):
    for model, names in FIELDS.items():
        encrypt_existing(apps.get_model("care", model), *names)


def decrypt(apps, schema_editor):
    for model, names in FIELDS.items():
        decrypt_existing(apps.get_model("care", model), *names)


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0007_free_text_encrypted"),
    ]

    operations = [
        migrations.RunPython(encrypt, decrypt, elidable=False),
    ]
