"""What crisis detection says, in words, and the notification that carries it.

* ``crisis.alert``: negative messages far above the usual (to whoever is on duty on the
  webcare rota and to the members who may declare a crisis), in the app and by e-mail.

The explanation is written when it is read, in the reader's language, from the alert's
numbers (nothing translated is stored).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.utils.dates import WEEKDAYS
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from portevoix.networks import registry

if TYPE_CHECKING:
    from .models import Alert

ALERT = "crisis.alert"


def alert_params(alert: Alert) -> dict[str, Any]:
    return {
        "observed": alert.observed,
        "expected": round(alert.expected, 2),
        "weekday": alert.weekday,
        "hour": alert.hour,
        "network": alert.network,
        "terms": list(alert.terms),
        "hours": round((alert.window_end - alert.window_start) / dt.timedelta(hours=1)),
        "minutes": round((alert.window_end - alert.window_start) / dt.timedelta(minutes=1)),
        "drill": _is_drill(alert),
    }


def _is_drill(alert: Alert) -> bool:
    from .drills import is_drill_alert

    return is_drill_alert(alert.pk)


def explain(params: Mapping[str, Any]) -> str:
    """ "12 negative messages in the last hour, 6.2 times the usual for a Tuesday at 14:00, on
    Bluesky, about «retard, livraison»", in the active language."""
    observed = int(params.get("observed", 0))
    expected = float(params.get("expected") or 0)
    ratio = observed / expected if expected else 0.0
    hours = int(params.get("hours") or 1)
    minutes = int(params.get("minutes") or 0)
    if 0 < minutes < 60:
        text = gettext(
            "%(count)s negative messages in the last %(minutes)s minutes, %(ratio)s times the "
            "usual for a %(weekday)s at %(hour)s:00"
        ) % {
            "count": observed,
            "minutes": minutes,
            "ratio": number_format(ratio, 1),
            "weekday": WEEKDAYS[int(params.get("weekday", 0)) % 7],
            "hour": f"{int(params.get('hour', 0)):02d}",
        }
    else:
        text = ngettext(
            "%(count)s negative messages in the last hour, %(ratio)s times the usual for a "
            "%(weekday)s at %(hour)s:00",
            "%(count)s negative messages in the last %(hours)s hours, %(ratio)s times the usual "
            "for a %(weekday)s at %(hour)s:00",
            hours,
        ) % {
            "count": observed,
            "hours": hours,
            "ratio": number_format(ratio, 1),
            "weekday": WEEKDAYS[int(params.get("weekday", 0)) % 7],
            "hour": f"{int(params.get('hour', 0)):02d}",
        }
    if params.get("network"):
        text += gettext(", on %(network)s") % {"network": registry.label(str(params["network"]))}
    terms = [str(t) for t in params.get("terms") or []]
    if terms:
        text += gettext(", about «%(topic)s»") % {"topic": ", ".join(terms)}
    return text


def _title(params: Mapping[str, Any]) -> str:
    if params.get("drill"):
        return gettext("Drill — possible crisis: %(explanation)s") % {
            "explanation": explain(params)
        }
    return gettext("Possible crisis: %(explanation)s") % {"explanation": explain(params)}


def register() -> None:
    from portevoix.notifications.kinds import Delivery, Kind
    from portevoix.notifications.kinds import register as add

    add(
        Kind(
            code=ALERT,
            label=_("Crisis detection raised an alert"),
            help=_(
                "Negative messages far above the usual for that hour of the week; to whoever "
                "is on duty and to the managers."
            ),
            title=_title,
            template="crisis/notifications/alert.txt",
            default=Delivery.BOTH,
            audience="crisis.view",
        )
    )
