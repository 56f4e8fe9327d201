"""Exactly once through crashes: the "sending" mark, the first attempt's time, every id the
network gave, reconcile's candidates, "send it late"; ``problem`` replaces ``error_message`` and
``failed_reason``; idempotency keys are random per publication from now on."""

from django.db import migrations, models

import portevoix.publishing.models


def merge_problems(apps, schema_editor):
    Publication = apps.get_model("publishing", "Publication")
    rows = Publication.objects.exclude(error_message="", failed_reason="")
    for row in rows.only("pk", "error_message", "failed_reason"):
        Publication.objects.filter(pk=row.pk).update(problem=row.error_message or row.failed_reason)
    # A post that already went out records its id for the other publications' reconcile.
    for row in Publication.objects.exclude(network_post_id="").only("pk", "network_post_id"):
        Publication.objects.filter(pk=row.pk).update(network_post_ids=[row.network_post_id])


class Migration(migrations.Migration):
    dependencies = [
        ("publishing", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="publication",
            name="problem",
            field=models.TextField(blank=True, verbose_name="problem"),
        ),
        migrations.AddField(
            model_name="publication",
            name="network_post_ids",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(merge_problems, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField(model_name="publication", name="error_message"),
        migrations.RemoveField(model_name="publication", name="failed_reason"),
        migrations.AddField(
            model_name="publication",
            name="first_attempt_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="first attempt"),
        ),
        migrations.AddField(
            model_name="publication",
            name="sending_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="sending since"),
        ),
        migrations.AddField(
            model_name="publication",
            name="candidates",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="publication",
            name="late_ok",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="publication",
            name="idempotency_key",
            field=models.CharField(
                default=portevoix.publishing.models.new_idempotency_key, max_length=120, unique=True
            ),
        ),
        migrations.AlterField(
            model_name="publication",
            name="state",
            field=models.CharField(
                choices=[
                    ("scheduled", "scheduled"),
                    ("outcome_unknown", "outcome unknown"),
                    ("waiting_reconnect", "waiting reconnect"),
                    ("needs_check", "needs check"),
                    ("held", "held"),
                    ("rejected", "rejected"),
                    ("published", "published"),
                    ("cancelled", "cancelled"),
                    ("failed", "failed"),
                ],
                db_index=True,
                default="scheduled",
                max_length=64,
                verbose_name="state",
            ),
        ),
    ]
