"""Version 3 of the automated-features consent (consent_texts/automation.v3.en.md).

Version 2 promised that no model predicting anything would be used without a new text to
agree to. Version 3 is that text: it describes the nightly estimate of the chance of no
activity in the next two weeks, what it reads and does not read, the 500-enrollment rule,
and that withdrawing stops it. Trellis makes the estimate only for people whose answer in
force is a yes to version 3 or later (`care.consent.MODEL_DESCRIBED_FROM`). Versions 1 and
2 stay: they are the texts people read, and their answers stay recorded against them.

Runs the same loader as 0004, so it is re-runnable and never changes an existing document.
"""

from importlib import import_module

from django.db import migrations

load_defaults = import_module(
    "trellis.care.migrations.0004_default_consent_documents"
).load_defaults


class Migration(migrations.Migration):
    dependencies = [("care", "0009_reminder_preferences")]

    operations = [migrations.RunPython(load_defaults, migrations.RunPython.noop)]
