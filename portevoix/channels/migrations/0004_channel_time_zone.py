from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0003_problem_limits_sync_failing"),
    ]

    operations = [
        migrations.AddField(
            model_name="channel",
            name="time_zone",
            field=models.CharField(blank=True, max_length=64, verbose_name="audience time zone"),
        ),
    ]
