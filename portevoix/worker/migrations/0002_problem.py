"""One name for what a person reads about a row: ``problem`` (was ``failed_reason``)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("worker", "0001_initial"),
    ]

    operations = [
        migrations.RenameField("housekeeping", "failed_reason", "problem"),
        migrations.AlterField(
            model_name="housekeeping",
            name="problem",
            field=models.TextField(blank=True, verbose_name="problem"),
        ),
    ]
