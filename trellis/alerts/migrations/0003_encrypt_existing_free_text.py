"""Encrypt the alerts' reasons written before their columns were encrypted (0002).

Re-runnable: values already encrypted are left under the newest key. Undoing it writes
them back as plain text, so 0002 can be undone after it.
"""

from django.db import migrations

from trellis.core.rotation import decrypt_existing, encrypt_existing

FIELDS = {
    "alert": ("reason", "close_reason"),
}


def encrypt(apps, schema_editor):
    for model, names in FIELDS.items():
        encrypt_existing(apps.get_model("alerts", model), *names)


def decrypt(apps, schema_editor):
    for model, names in FIELDS.items():
        decrypt_existing(apps.get_model("alerts", model), *names)


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0002_free_text_encrypted"),
    ]

    operations = [
        migrations.RunPython(encrypt, decrypt, elidable=False),
    ]
