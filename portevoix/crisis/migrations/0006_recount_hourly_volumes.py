"""The hourly counts were made when crisis detection read every mention of the workspace;
it now reads only what the brand's own queries found (docs/crisis.md, "What it reads").
The counts are derived data: emptied here, the next check recounts the last four weeks
(``actions.FIRST_COUNT``) from the stored messages and mentions under the new rule, so the
baselines do not carry competitors' and hashtags' volume for eight more weeks."""

from __future__ import annotations

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def recount(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("crisis", "HourlyVolume").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("crisis", "0005_statement_network_options")]

    operations = [migrations.RunPython(recount, migrations.RunPython.noop)]
