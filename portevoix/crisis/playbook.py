"""The crisis playbook that every workspace starts with, from seed 001 ("Coordonner une
réponse en cas de crise"): one checklist per department. Managers edit it per workspace
(:func:`portevoix.crisis.actions.save_playbook`); an incident copies it when it opens."""

from __future__ import annotations

from django.utils.translation import gettext_noop

#: Department code -> tasks (English in the code, translated when copied into a workspace).
DEFAULT_PLAYBOOK: dict[str, tuple[str, ...]] = {
    "communication": (
        gettext_noop("Assess the short- and long-term harm to the brand, locally and globally"),
        gettext_noop("Draft the holding statement and have legal approve it"),
        gettext_noop("Name one spokesperson and brief the people who answer the press"),
    ),
    "legal": (
        gettext_noop("Assess the legal exposure of what is being said and of our answers"),
        gettext_noop("Review the holding statement before it goes out"),
    ),
    "finance": (
        gettext_noop(
            "Could the company's share price or financing be affected? Tell the direction"
        ),
        gettext_noop("Prepare answers for investors and partners"),
    ),
    "hr": (
        gettext_noop("Check who holds each company account's login and second factor"),
        gettext_noop(
            "If an employee hijacked a company account, take it back on the network and "
            "reconnect the channel"
        ),
        gettext_noop("Remind staff of the social media policy: no personal comments on the crisis"),
    ),
    "sales": (
        gettext_noop(
            "List the offers, promotions and launches that may now be insensitive or badly timed"
        ),
        gettext_noop("Cancel or postpone them with marketing"),
    ),
    "marketing": (
        gettext_noop("Pause the scheduled posts and campaigns that may now be tone-deaf"),
        gettext_noop("Check the scheduled posts that mention the crisis's terms"),
    ),
    "customer_service": (
        gettext_noop(
            "Expect more complaints on every network, including the dedicated service channels"
        ),
        gettext_noop("Answer crisis conversations with the approved holding statement"),
        gettext_noop("Call extra members on duty on the rota"),
    ),
}
