"""Audit entries whose object was named by an English phrase.

Four kinds of object were written into the log as English words, which a French reader saw
beside a French label: webcare settings ("webcare of 1") and retention periods ("retention of
1") now name their workspace, like the approval settings and the brand guide; a drill is
"#1 (crisis)" instead of "drill 1 (crisis)"; a strategy canvas or policy version is "v1"
instead of "canvas v1" or "policy v1" (the action's label, in the reader's language, says
which).

Like 0003, a one-off presentational rewrite that changes no fact an entry records.
"""

import re

from django.db import migrations

SETTINGS = {
    "care.webcaresettings": re.compile(r"^webcare of \d+$"),
    "privacy.retentionpolicy": re.compile(r"^retention of \d+$"),
}
DRILL = re.compile(r"^drill (?P<rest>\d+ \(\w+\))$")
VERSION = {
    "strategy.canvasversion": re.compile(r"^canvas (?P<v>v\d+)$"),
    "strategy.policyversion": re.compile(r"^policy (?P<v>v\d+)$"),
}


def forwards(apps, schema_editor):
    AuditEntry = apps.get_model("core", "AuditEntry")
    Workspace = apps.get_model("core", "Workspace")
    names = {}
    for object_type, pattern in SETTINGS.items():
        for entry in AuditEntry.objects.filter(object_type=object_type).iterator():
            if not pattern.match(entry.object_repr) or entry.workspace_id is None:
                continue
            if entry.workspace_id not in names:
                workspace = Workspace.objects.filter(pk=entry.workspace_id).first()
                names[entry.workspace_id] = workspace.name if workspace else ""
            AuditEntry.objects.filter(pk=entry.pk).update(
                object_repr=names[entry.workspace_id][:200]
            )
    for entry in AuditEntry.objects.filter(object_type="crisis.drill").iterator():
        found = DRILL.match(entry.object_repr)
        if found:
            AuditEntry.objects.filter(pk=entry.pk).update(object_repr=f"#{found['rest']}")
    for object_type, pattern in VERSION.items():
        for entry in AuditEntry.objects.filter(object_type=object_type).iterator():
            found = pattern.match(entry.object_repr)
            if found:
                AuditEntry.objects.filter(pk=entry.pk).update(object_repr=found["v"])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0007_object_index"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
