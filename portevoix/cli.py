"""The ``portevoix`` command.

portevoix demo       set up the embedded database, load the demo, run web + worker
portevoix serve      production web server (gunicorn + WhiteNoise)
portevoix worker     background worker
portevoix listen     listening's sources alone (a worker for them)
portevoix migrate    apply migrations and create the cache table
portevoix manage ... any Django management command
portevoix triage     label JSON lines from standard input
portevoix privacy    export or erase one person's data, retention periods
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence


def _django(settings_module: str = "portevoix.settings") -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    try:
        import django

        django.setup()
    except Exception as exc:
        from portevoix.config import ConfigError

        if isinstance(exc, ConfigError):
            sys.stderr.write(f"portevoix: configuration error: {exc}\n")
            raise SystemExit(2) from exc
        raise


WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}  # noqa: S104 - names, not a bind


def base_url_for(bind: str) -> str | None:
    """The address that reaches a server bound to ``bind`` (``HOST:PORT``), for links in
    e-mails; None when it cannot be told (a Unix socket). A wildcard host is reached as
    ``localhost`` from this machine."""
    if bind.startswith(("unix:", "fd://")) or ":" not in bind:
        return None
    host, _, port = bind.rpartition(":")
    if not port.isdigit():
        return None
    if host in WILDCARD_HOSTS:
        host = "localhost"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}" if port == "80" else f"http://{host}:{port}"


def _follow_bind(bind: str) -> str | None:
    """Unless ``PORTEVOIX_BASE_URL`` is set, links in e-mails follow the bound address.

    Set in the environment before Django starts, so that the web and worker processes
    started from here inherit it. Returns the base URL when it was inferred."""
    if os.environ.get("PORTEVOIX_BASE_URL"):
        return None
    url = base_url_for(bind)
    if url is not None:
        os.environ["PORTEVOIX_BASE_URL"] = url
    return url


def _migrate(verbosity: int = 1) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)
    call_command("createcachetable", verbosity=0)


def cmd_migrate(args: argparse.Namespace) -> int:
    _django()
    _migrate()
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    _django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["portevoix manage", *args.rest])
    return 0


def _gunicorn_argv(bind: str, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "portevoix.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "20",
    ]


def cmd_serve(args: argparse.Namespace) -> int:
    inferred = _follow_bind(args.bind)
    _django()
    from django.conf import settings
    from django.core.management import call_command

    if args.migrate:
        _migrate()
    call_command("collectstatic", interactive=False, verbosity=0)
    sys.stdout.write(f"Porte-voix serving on http://{args.bind} ({settings.CONFIG.mode})\n")
    if inferred is not None:
        sys.stdout.write(
            f"Links in e-mails point at {inferred}: set PORTEVOIX_BASE_URL to the address "
            "people use to reach this server.\n"
        )
    sys.stdout.flush()
    os.execv(sys.executable, _gunicorn_argv(args.bind, args.workers))  # noqa: S606
    return 0  # pragma: no cover


def cmd_worker(args: argparse.Namespace) -> int:
    _django()
    try:
        from portevoix.worker.runner import main as worker_main
    except ImportError:
        sys.stderr.write("portevoix: the worker engine is not installed in this build\n")
        return 1
    return int(worker_main(concurrency=args.concurrency, liveness_file=args.liveness_file))


def cmd_listen(args: argparse.Namespace) -> int:
    """A worker for listening alone: its sources (one stream per row, leased: never read twice
    by two processes) and the accounts followed beside the brand's."""
    _django()
    from portevoix.listening.models import FollowedAccount, ListeningSource
    from portevoix.worker.runner import main as worker_main

    return int(
        worker_main(
            concurrency=args.concurrency,
            liveness_file=args.liveness_file,
            models=[ListeningSource, FollowedAccount],
        )
    )


def cmd_demo(args: argparse.Namespace) -> int:
    _follow_bind(args.bind)
    _django()
    from django.conf import settings
    from django.core.management import call_command

    from portevoix.core import demo

    _migrate(verbosity=0)
    result = demo.load(reset=args.reset)
    call_command("collectstatic", interactive=False, verbosity=0)
    url = base_url_for(args.bind) or f"http://{args.bind}"
    lines = [
        "",
        "Porte-voix — démo / demo",
        f"  URL:       {url}/",
        f"  Données:   {settings.CONFIG.data_dir}",
        f"  Liens des e-mails / links in e-mails: {settings.PORTEVOIX_BASE_URL}/",
        f"  Mot de passe de chaque compte / password of every account: {demo.PASSWORD}",
        "",
    ]
    for email, role in result.logins:
        lines.append(f"  {role:<32} {email}")
    lines.append("")
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    if args.no_serve:
        return 0
    children = [subprocess.Popen(_gunicorn_argv(args.bind, 2))]
    try:
        from portevoix.worker import runner  # noqa: F401

        children.append(subprocess.Popen([sys.executable, "-m", "portevoix.cli", "worker"]))
    except ImportError:
        pass

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        stop()
        for child in children:
            try:
                child.wait(timeout=25)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


def cmd_channels(args: argparse.Namespace) -> int:
    _django()
    from portevoix.channels import cli as channels_cli

    return channels_cli.run(args)


def cmd_privacy(args: argparse.Namespace) -> int:
    _django()
    from portevoix.privacy import cli as privacy_cli

    return privacy_cli.run(args)


def cmd_triage(args: argparse.Namespace) -> int:
    from portevoix.triage.cli import run_triage_cli

    return int(run_triage_cli(args.rest, sys.stdin, sys.stdout))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portevoix", description="Porte-voix")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="set up the embedded default with demo data and run it")
    demo.add_argument("--bind", default=os.environ.get("PORT_BIND", "127.0.0.1:8000"))
    demo.add_argument("--reset", action="store_true", help="delete and reload the demo data")
    demo.add_argument("--no-serve", action="store_true", help="only set up, do not serve")
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="production web server")
    serve.add_argument("--bind", default="0.0.0.0:8000")
    serve.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 1) * 2 + 1))
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run background work")
    worker.add_argument(
        "--concurrency", type=int, default=8, help="handler threads: network calls in flight"
    )
    worker.add_argument("--liveness-file", default=None)
    worker.set_defaults(func=cmd_worker)

    listen = sub.add_parser("listen", help="read listening's sources (a worker for them alone)")
    listen.add_argument(
        "--concurrency", type=int, default=4, help="streams read at once (one thread each)"
    )
    listen.add_argument("--liveness-file", default=None)
    listen.set_defaults(func=cmd_listen)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)

    manage = sub.add_parser("manage", help="run a Django management command", add_help=False)
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)

    from portevoix.channels import cli as channels_cli

    channels_cli.add_parsers(sub)
    for name in ("channels", "post", "rotate-keys"):
        sub.choices[name].set_defaults(func=cmd_channels)

    from portevoix.privacy import cli as privacy_cli

    privacy_cli.add_parsers(sub)
    sub.choices["privacy"].set_defaults(func=cmd_privacy)

    triage = sub.add_parser("triage", help="label JSON lines from stdin", add_help=False)
    triage.add_argument("rest", nargs=argparse.REMAINDER)
    triage.set_defaults(func=cmd_triage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["triage"]:
        # Triage parses its own options (argparse's REMAINDER refuses ones starting with --).
        from portevoix.triage.cli import run_triage_cli

        return int(run_triage_cli(arguments[1:], sys.stdin, sys.stdout))
    parser = build_parser()
    args = parser.parse_args(arguments)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
