"""Version 2 of the automated-features consent (consent_texts/automation.v2.en.md).

Version 1 described a model estimating the chance of stopping the program early, which
Trellis does not have; version 2 describes only the checks that exist (the safety pathway,
the triage suggestion, the hourly alert rules, the eHEALS walkthrough) and says a new version
will be asked for before any prediction model is used. Version 1 stays: it is the text the
people who agreed to it read, and their answers stay recorded against it.

Runs the same loader as 0004, so it is re-runnable and never changes an existing document.
"""

from importlib import import_module

from django.db import migrations

load_defaults = import_module(
    "trellis.care.migrations.0004_default_consent_documents"
).load_defaults


class Migration(migrations.Migration):
    dependencies = [("care", "0005_care_notes_and_stepped_care")]

    operations = [migrations.RunPython(load_defaults, migrations.RunPython.noop)]
