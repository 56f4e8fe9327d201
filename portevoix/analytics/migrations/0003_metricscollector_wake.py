"""The metrics collector is a worker row: a due row wakes the workers (docs/worker.md)."""

from django.db import migrations

from portevoix.worker.wake import WakeWorkersOnDue


class Migration(migrations.Migration):
    dependencies = [("analytics", "0002_experiments")]

    operations = [WakeWorkersOnDue("metricscollector")]
