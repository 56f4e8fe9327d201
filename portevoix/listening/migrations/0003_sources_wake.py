"""Listening sources and followed accounts are worker rows: a due row wakes the workers
(docs/worker.md). The sandbox world's source is a row from the start, and the housekeeping job
that used to read it is gone (each source's row reads itself)."""

from django.db import migrations

from portevoix.worker.wake import WakeWorkersOnDue


def sandbox_row(apps, schema_editor):  # type: ignore[no-untyped-def]
    Source = apps.get_model("listening", "ListeningSource")
    Source.objects.get_or_create(
        name="sandbox-world", defaults={"network": "sandbox", "kind": "sandbox"}
    )
    Housekeeping = apps.get_model("worker", "Housekeeping")
    Housekeeping.objects.filter(name="listening-read").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("listening", "0002_sources_and_competitors"),
        ("worker", "0001_initial"),
    ]

    operations = [
        WakeWorkersOnDue("listeningsource"),
        WakeWorkersOnDue("followedaccount"),
        migrations.RunPython(sandbox_row, migrations.RunPython.noop),
    ]
