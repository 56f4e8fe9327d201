"""Audit entries written before the log rendered labels at read time.

Two things were stored in the writer's language or in a form a reader cannot use:

* a member's ``object_repr`` held the role's translated name ("Claire Martin (Administrateur,
  Lumière Cosmétiques)"), so the log mixed languages; it becomes "Claire Martin (Lumière
  Cosmétiques)": the role is in ``before``/``after`` and the page names it in the reader's
  language;
* ``invitation.create`` stored the department as a bare id, which the page showed as a number;
  it becomes ``{"id", "repr"}`` like every other reference in the log.

The log stays append-only for the product; this one-off presentational rewrite changes no
fact an entry records.
"""

import re

from django.db import migrations

MEMBER_REPR = re.compile(r"^(?P<who>.*) \((?P<role>[^,()]+), (?P<where>.+)\)$")


def forwards(apps, schema_editor):
    AuditEntry = apps.get_model("core", "AuditEntry")
    Department = apps.get_model("core", "Department")
    for entry in AuditEntry.objects.filter(object_type="core.member").iterator():
        found = MEMBER_REPR.match(entry.object_repr)
        if found:
            AuditEntry.objects.filter(pk=entry.pk).update(
                object_repr=f"{found['who']} ({found['where']})"[:200]
            )
    names = {}
    for entry in AuditEntry.objects.filter(action="invitation.create").iterator():
        after = entry.after
        if not isinstance(after, dict) or not isinstance(after.get("department"), int):
            continue
        pk = after["department"]
        if pk not in names:
            department = Department.objects.filter(pk=pk).first()
            names[pk] = department.name if department is not None else f"#{pk}"
        after = {**after, "department": {"id": pk, "repr": names[pk]}}
        AuditEntry.objects.filter(pk=entry.pk).update(after=after)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_workspace_lateness"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
