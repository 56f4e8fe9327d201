"""Django's ``makemessages``, which also extracts the pairs of :func:`portevoix.core.sentences.
counted` (a stored sentence that counts something: singular and plural, like ``ngettext``)."""

from __future__ import annotations

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=counted:1,2"]
