# The worker's lease on a delivery (claimed_by, claimed_until) and the index of queued
# deliveries by their earliest sending time, which the worker's claim reads.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("nudges", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="claimed_by",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="delivery",
            name="claimed_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("status", "queued")),
                fields=["not_before"],
                name="nudges_delivery_queued",
            ),
        ),
    ]
