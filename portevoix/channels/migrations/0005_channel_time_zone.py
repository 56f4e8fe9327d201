from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0004_wake_on_due"),
    ]

    operations = [
        migrations.AddField(
            model_name="channel",
            name="time_zone",
            field=models.CharField(blank=True, max_length=64, verbose_name="audience time zone"),
        ),
    ]
