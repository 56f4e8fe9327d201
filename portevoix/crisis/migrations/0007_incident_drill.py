"""An incident knows the drill it is part of: before, only a drill's first incident was linked
(``Drill.incident``), so a second incident opened from the drill's alert counted as real."""

from __future__ import annotations

import django.db.models.deletion
from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def link(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Drill = apps.get_model("crisis", "Drill")
    Incident = apps.get_model("crisis", "Incident")
    for drill_id, incident_id, alert_id in Drill.objects.values_list("pk", "incident", "alert"):
        if incident_id is not None:
            Incident.objects.filter(pk=incident_id).update(drill_id=drill_id)
        if alert_id is not None:
            Incident.objects.filter(alert_id=alert_id).update(drill_id=drill_id)


class Migration(migrations.Migration):
    dependencies = [("crisis", "0006_recount_hourly_volumes")]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="drill",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="incidents",
                to="crisis.drill",
            ),
        ),
        migrations.RunPython(link, migrations.RunPython.noop),
    ]
