from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from portevoix.core.permissions import matrix_markdown


class Command(BaseCommand):
    help = "Write docs/permissions.md from the permission matrix in the code."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--path", default="docs/permissions.md")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(matrix_markdown(), encoding="utf-8")
        self.stdout.write(f"wrote {path}")
