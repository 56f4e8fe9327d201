from django.db import migrations

from portevoix.worker.wake import WakeWorkersOnDue


class Migration(migrations.Migration):
    dependencies = [
        ("worker", "0002_problem"),
    ]

    operations = [WakeWorkersOnDue("housekeeping")]
