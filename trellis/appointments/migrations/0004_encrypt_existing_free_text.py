"""Encrypt the cancellation and day-off reasons written before their columns were
encrypted (0003).

Re-runnable: values already encrypted are left under the newest key. Undoing it writes
them back as plain text, so 0003 can be undone after it.
"""

from django.db import migrations

from trellis.core.rotation import decrypt_existing, encrypt_existing

FIELDS = {
    "appointment": ("cancel_reason",),
    "availabilityexception": ("reason",),
}


def encrypt(apps, schema_editor):
    for model, names in FIELDS.items():
        encrypt_existing(apps.get_model("appointments", model), *names)


def decrypt(apps, schema_editor):
    for model, names in FIELDS.items():
        decrypt_existing(apps.get_model("appointments", model), *names)


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0003_free_text_encrypted"),
    ]

    operations = [
        migrations.RunPython(encrypt, decrypt, elidable=False),
    ]
