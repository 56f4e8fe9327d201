from django.db import migrations

from portevoix.worker.wake import WakeWorkersOnDue


class Migration(migrations.Migration):
    dependencies = [
        ("publishing", "0002_exactly_once"),
    ]

    operations = [WakeWorkersOnDue("publication")]
