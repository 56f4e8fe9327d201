from django.db import migrations

from portevoix.worker.wake import WakeWorkersOnDue


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0003_problem_limits_sync_failing"),
    ]

    operations = [WakeWorkersOnDue("channel")]
