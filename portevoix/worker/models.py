"""Rows of background work: the abstract :class:`StatefulModel` and the registry of its models.

A stateful row carries its own scheduling: ``state`` (a state of the model's ``STATE_GRAPH``),
``next_attempt_at`` (when a worker should run the state's handler; NULL when nothing is due),
and a lease (``locked_by``, ``locked_until``) that a worker holds while it runs the handler.
The row's state is both what a page shows and the job itself: there is no broker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.apps import apps
from django.db import models, transaction
from django.db.models import Value
from django.db.models.functions import Greatest
from django.db.models.signals import class_prepared
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portevoix.worker.graph import GraphError, State, StateGraph


class LeaseLost(RuntimeError):
    """This worker's lease on the row expired or was taken: it must not write results."""


class TransitionRefused(ValueError):
    """The state graph does not declare this transition."""


@dataclass(frozen=True)
class Outcome:
    """What a handler may return instead of a bare state name.

    ``at``/``delay`` set when the next state is due (default: at once if it is automatic);
    ``fields`` are written to the row in the same statement as the transition, so a handler's
    bookkeeping on its own row commits together with the state or not at all.

    ``retry=True`` counts the attempt as failed (``attempts + 1``, ``last_error`` from
    ``error``) without giving up: the handler itself decides when to stop (a publication
    retries transient errors until its lateness limit). Without ``at``/``delay`` the row is due
    again after the state's back-off.

    ``after`` runs once the result is committed, and only if it was (a notification for a
    failure that really was written; never for a result another worker overtook).
    """

    state: str | State
    at: dt.datetime | None = None
    delay: float | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    retry: bool = False
    error: str = ""
    after: Callable[[], None] | None = None


class StatefulModel(models.Model):
    """Base of every model whose rows are background work. Concrete models set STATE_GRAPH."""

    STATE_GRAPH: ClassVar[type[StateGraph]]

    state = models.CharField(_("state"), max_length=64, db_index=True)
    state_changed_at = models.DateTimeField(_("state changed at"), default=timezone.now)
    next_attempt_at = models.DateTimeField(
        _("next attempt at"), null=True, blank=True, db_index=True
    )
    locked_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    locked_by = models.CharField(_("leased by"), max_length=128, blank=True)
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0)
    #: Technical details of the last error (a traceback, the network's code), for operators.
    last_error = models.TextField(_("last error"), blank=True)
    #: What a person reads about this row: why it failed, waits or needs someone.
    problem = models.TextField(_("problem"), blank=True)

    class Meta:
        abstract = True

    @property
    def state_obj(self) -> State:
        return self.STATE_GRAPH.get(self.state)

    def transition(
        self,
        to: str | State,
        *,
        at: dt.datetime | None = None,
        problem: str = "",
        fields: dict[str, Any] | None = None,
        save: bool = True,
    ) -> None:
        """Move the row to ``to`` (from an action); refuse what the graph does not declare.

        The new state is due at once (or at ``at``) when it is automatic, never otherwise.
        ``problem`` is what the page shows about the new state (cleared when empty);
        ``fields`` are other columns saved with the transition.
        """
        graph = self.STATE_GRAPH
        target = graph.get(to)
        if not graph.allows(self.state, target):
            raise TransitionRefused(
                f"{type(self).__name__} {self.pk}: {self.state} -> {target.name} is not declared"
            )
        now = timezone.now()
        self.state = target.name
        self.state_changed_at = now
        self.next_attempt_at = (at or now) if target.automatic else None
        self.attempts = 0
        self.last_error = ""
        self.problem = problem
        for name, value in (fields or {}).items():
            setattr(self, name, value)
        if save:
            self.save(
                update_fields=[
                    "state",
                    "state_changed_at",
                    "next_attempt_at",
                    "attempts",
                    "last_error",
                    "problem",
                    *(fields or {}),
                ]
            )

    # --- lease helpers for handlers ---------------------------------------------------------

    def _lease_filter(self) -> models.QuerySet[Any]:
        """This row, while this worker's claim still holds it.

        ``locked_by`` is unique to one claim (see ``runner.claim``): another worker that took
        the row over wrote its own. ``locked_until`` is not compared: the worker's heartbeat
        renews it in the database while the handler runs.
        """
        return type(self)._default_manager.filter(
            pk=self.pk, state=self.state, locked_by=self.locked_by
        )

    def extend_lease(self, seconds: float | None = None) -> None:
        """Keep the row for ``seconds`` more (a long handler calls this as it goes)."""
        seconds = self.STATE_GRAPH.lease_seconds if seconds is None else seconds
        until = timezone.now() + dt.timedelta(seconds=seconds)
        if not self.locked_by:
            raise LeaseLost(f"{type(self).__name__} {self.pk}: lease lost")
        # Never shorten a lease (a publication's covers its network call).
        if self._lease_filter().update(locked_until=Greatest("locked_until", Value(until))) != 1:
            raise LeaseLost(f"{type(self).__name__} {self.pk}: lease lost")
        self.locked_until = max(until, self.locked_until or until)

    @contextlib.contextmanager
    def leased_atomic(self) -> Iterator[None]:
        """A transaction that commits only while this worker still holds the row's lease.

        It starts by renewing the lease with a conditional UPDATE, which also locks the row
        until commit (PostgreSQL) or holds the database's write lock (SQLite): no other worker
        can take the row between the check and the commit. Raises :class:`LeaseLost`.
        """
        with transaction.atomic():
            self.extend_lease()
            yield


def stateful_models() -> list[type[StatefulModel]]:
    """Every concrete stateful model of the installed apps, in a stable order."""
    found = [
        m
        for m in apps.get_models()
        if issubclass(m, StatefulModel) and not m._meta.abstract and not m._meta.proxy
    ]
    return sorted(found, key=lambda m: m._meta.label)


def _prepare(sender: type[models.Model], **kwargs: Any) -> None:
    """Give each concrete stateful model its graph's choices and initial state."""
    if not issubclass(sender, StatefulModel) or sender._meta.abstract:
        return
    graph = getattr(sender, "STATE_GRAPH", None)
    if not (isinstance(graph, type) and issubclass(graph, StateGraph)):
        raise GraphError(f"{sender.__name__} needs a STATE_GRAPH (a StateGraph subclass)")
    for state in graph.states.values():
        if isinstance(state.handler, str) and not callable(getattr(sender, state.handler, None)):
            raise GraphError(f"{sender.__name__} has no method {state.handler} for {state.name}")
    state_field = sender._meta.get_field("state")
    assert isinstance(state_field, models.CharField)
    state_field.default = graph.initial.name
    state_field.choices = graph.choices()
    if graph.initial.automatic:
        sender._meta.get_field("next_attempt_at").default = timezone.now


class_prepared.connect(_prepare)


# --- Housekeeping ----------------------------------------------------------------------------


class HousekeepingStates(StateGraph):
    # ``scheduled`` runs the job and comes back to itself, due again after the job's interval.
    scheduled = State(initial=True, handler="handle_scheduled", try_interval=300, max_attempts=5)
    # After max_attempts errors in a row; an operator reschedules it from the admin.
    failed = State(failure=True)
    scheduled.transitions_to(scheduled)
    failed.transitions_to(scheduled)


class Housekeeping(StatefulModel):
    """One row per periodic maintenance job (see :mod:`portevoix.worker.housekeeping`)."""

    STATE_GRAPH = HousekeepingStates

    name = models.CharField(_("job"), max_length=64, unique=True)
    last_run_at = models.DateTimeField(_("last run at"), null=True, blank=True)
    last_result = models.TextField(_("last result"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("housekeeping job")
        verbose_name_plural = _("housekeeping jobs")

    def __str__(self) -> str:
        return self.name

    def handle_scheduled(self) -> Outcome:
        from portevoix.worker import housekeeping

        return housekeeping.run(self)
