"""``manage.py sandbox``: move the sandbox world, replay a crisis, make the network fail.

manage.py sandbox advance [--until 2026-01-12T18:00:00+00:00]
manage.py sandbox crisis lumiere --intensity 1.5 --topic "les réactions allergiques au
    sérum Éclat" --topic-en "the allergic reactions to the Éclat serum" --hours 48
manage.py sandbox calm lumiere
manage.py sandbox fault lumiere timeout_after_accept rate_limited
manage.py sandbox faults lumiere --latency-ms 800 --rate-limit 30 --window 900
manage.py sandbox stats lumiere
manage.py sandbox demo lumiere
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from portevoix.sandbox import service, world
from portevoix.sandbox.models import Fault, SandboxAccount


def _moment(value: str | None) -> datetime:
    if not value:
        return timezone.now()
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise CommandError("Give the time with its offset, e.g. 2026-01-12T18:00:00+01:00.")
    return moment


class Command(BaseCommand):
    help = "Drive the sandbox network: advance its world, replay a crisis, inject faults."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        advance = sub.add_parser("advance", help="simulate every sandbox account up to a moment")
        advance.add_argument("--until", help="ISO time with offset (default: now)")
        crisis = sub.add_parser("crisis", help="make negative mentions surge")
        crisis.add_argument("handle")
        crisis.add_argument("--intensity", type=float, default=1.0)
        crisis.add_argument("--topic", default="")
        crisis.add_argument("--topic-en", default="")
        crisis.add_argument("--hours", type=float, default=48.0)
        crisis.add_argument("--at", help="ISO time with offset (default: now)")
        calm = sub.add_parser("calm", help="end the crisis now")
        calm.add_argument("handle")
        fault = sub.add_parser("fault", help="queue faults for the next write calls")
        fault.add_argument("handle")
        fault.add_argument("faults", nargs="+", choices=[f.value for f in Fault])
        faults = sub.add_parser("faults", help="latency and rate limit of an account")
        faults.add_argument("handle")
        faults.add_argument("--latency-ms", type=int)
        faults.add_argument("--jitter-ms", type=int)
        faults.add_argument("--rate-limit", type=int, help="calls per window (0: none)")
        faults.add_argument("--window", type=int, help="window in seconds")
        faults.add_argument("--reset", type=int, help="seconds a queued 429 says to wait")
        faults.add_argument(
            "--random",
            help="faults at random, e.g. timeout_after_accept=0.05,server_error=0.02",
        )
        faults.add_argument("--reads-too", action="store_true", help="faults hit reads too")
        faults.add_argument("--clear", action="store_true", help="no latency, limit or fault")
        stats = sub.add_parser("stats", help="what the network received (JSON)")
        stats.add_argument("handle")
        demo = sub.add_parser("demo", help="create the demo sandbox accounts of a workspace")
        demo.add_argument("workspace_slug")

    def _account(self, handle: str) -> SandboxAccount:
        account = SandboxAccount.objects.filter(handle=handle).first()
        if account is None:
            raise CommandError(f"No sandbox account @{handle}.")
        return account

    def handle(self, *args: Any, **options: Any) -> None:
        what = options["what"]
        if what == "advance":
            steps = world.advance_all(_moment(options["until"]))
            self.stdout.write(f"{steps} steps of 15 minutes simulated.")
        elif what == "crisis":
            account = self._account(options["handle"])
            at = _moment(options["at"])
            world.advance(account, at)
            world.start_crisis(
                account,
                options["intensity"],
                options["topic"],
                topic_en=options["topic_en"],
                at=world.floor_step(at),
                hours=options["hours"],
            )
            self.stdout.write(f"Crisis started on @{account.handle} (sandbox).")
        elif what == "calm":
            world.end_crisis(self._account(options["handle"]), at=timezone.now())
            self.stdout.write("Crisis ended.")
        elif what == "fault":
            service.inject_faults(self._account(options["handle"]), *options["faults"])
            self.stdout.write("Queued: " + ", ".join(options["faults"]))
        elif what == "faults":
            account = self._account(options["handle"])
            if options["clear"]:
                service.clear_faults(account)
            settings = {
                "latency_ms": options["latency_ms"],
                "jitter_ms": options["jitter_ms"],
                "rate_limit": options["rate_limit"],
                "rate_window_seconds": options["window"],
                "rate_reset_seconds": options["reset"],
            }
            if options["reads_too"]:
                settings["writes_only"] = False
            if options["random"]:
                try:
                    settings["random_faults"] = {
                        name.strip(): float(p)
                        for name, _, p in (c.partition("=") for c in options["random"].split(","))
                    }
                    service.configure_faults(account, random_faults=settings["random_faults"])
                except ValueError as error:
                    raise CommandError(f"--random: {error}") from None
            row = service.configure_faults(
                account, **{k: v for k, v in settings.items() if v is not None}
            )
            self.stdout.write(
                f"latency {row.latency_ms} ms (+{row.jitter_ms}), "
                f"{row.rate_limit or 'no'} calls per {row.rate_window_seconds} s, "
                f"queued: {row.queue or 'nothing'}, at random: {row.random_faults or 'nothing'}"
            )
        elif what == "stats":
            stats = service.stats(self._account(options["handle"]))
            self.stdout.write(json.dumps(stats, ensure_ascii=False, indent=2))
        elif what == "demo":
            from portevoix.core.models import Workspace
            from portevoix.sandbox.demo import load_sandbox_demo

            workspace = Workspace.objects.filter(slug=options["workspace_slug"]).first()
            if workspace is None:
                raise CommandError("No such workspace.")
            for account in load_sandbox_demo(workspace):
                self.stdout.write(f"@{account.handle} ({account.get_flavour_display()})")
