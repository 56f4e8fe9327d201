"""The training record's own data: a member's acknowledgement of the compliance rules.

Publishing's compliance rules (``publishing/approvals/models.py: ComplianceRule``) are not
versioned: they are edited in place. An acknowledgement therefore records the *fingerprint*
of the active rules it was given for (:func:`portevoix.training.actions.rules_fingerprint`):
when a rule is added, changed, switched off or deleted, the fingerprint changes and the member
is asked again. Drills (``crisis.DrillResult``) and the employee policy's acknowledgements
(``strategy.PolicyAcknowledgement``) are read where they live.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.core.models import Member, Workspace


class ComplianceAcknowledgement(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="compliance_acknowledgements"
    )
    #: SHA-256 of the active rules acknowledged (what they say, not their ids).
    fingerprint = models.CharField(max_length=64)
    #: How many active rules there were, and their names, as read.
    rules = models.JSONField(default=list, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), default=timezone.now)

    class Meta:
        ordering = ["-acknowledged_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "fingerprint"], name="training_compliance_ack_unique"
            )
        ]
        verbose_name = _("compliance acknowledgement")
        verbose_name_plural = _("compliance acknowledgements")

    def __str__(self) -> str:
        # The audit log keeps this beside its translated label, in no language: the rules'
        # version (the actor is shown already).
        return self.fingerprint[:8]
