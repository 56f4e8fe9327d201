"""``problem`` replaces ``health_message`` and ``failed_reason``; the server's limits are cached;
a failing sync shows since when."""

from django.db import migrations, models


def merge_problems(apps, schema_editor):
    Channel = apps.get_model("channels", "Channel")
    for channel in Channel.objects.all().only("pk", "health_message", "failed_reason"):
        text = channel.health_message or channel.failed_reason
        if text:
            Channel.objects.filter(pk=channel.pk).update(problem=text)


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0002_channel_sync_cursor"),
    ]

    operations = [
        migrations.AddField(
            model_name="channel",
            name="problem",
            field=models.TextField(blank=True, verbose_name="problem"),
        ),
        migrations.RunPython(merge_problems, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField(model_name="channel", name="health_message"),
        migrations.RemoveField(model_name="channel", name="failed_reason"),
        migrations.AddField(
            model_name="channel",
            name="sync_failing_since",
            field=models.DateTimeField(blank=True, null=True, verbose_name="sync failing since"),
        ),
        migrations.AddField(
            model_name="channel",
            name="limits",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.AddField(
            model_name="channel",
            name="limits_checked_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
