"""The crisis playbook that every workspace starts with, from seed 001 ("Coordonner une
réponse en cas de crise"): one checklist per department. Managers edit it per workspace
(:func:`portevoix.crisis.actions.save_playbook`); an incident copies it when it opens."""

from __future__ import annotations

from django.utils.translation import gettext_noop as N_

#: Department code -> tasks (English in the code, translated when copied into a workspace).
DEFAULT_PLAYBOOK: dict[str, tuple[str, ...]] = {
    "communication": (
        N_("Assess the short- and long-term harm to the brand, locally and globally"),
        N_("Draft the holding statement and have legal approve it"),
        N_("Name one spokesperson and brief the people who answer the press"),
    ),
    "legal": (
        N_("Assess the legal exposure of what is being said and of our answers"),
        N_("Review the holding statement before it goes out"),
    ),
    "finance": (
        N_("Could the company's share price or financing be affected? Tell the direction"),
        N_("Prepare answers for investors and partners"),
    ),
    "hr": (
        N_("Check who holds each company account's login and second factor"),
        N_("If an employee hijacked a company account, take it back (see Lockdown)"),
        N_("Remind staff of the social media policy: no personal comments on the crisis"),
    ),
    "sales": (
        N_("List the offers, promotions and launches that may now be insensitive or badly timed"),
        N_("Cancel or postpone them with marketing"),
    ),
    "marketing": (
        N_("Pause the scheduled posts and campaigns that may now be tone-deaf"),
        N_("Check the scheduled posts that mention the crisis's terms"),
    ),
    "customer_service": (
        N_("Expect more complaints on every network, including the dedicated service channels"),
        N_("Answer crisis conversations with the approved holding statement"),
        N_("Call extra members on duty on the rota"),
    ),
}
