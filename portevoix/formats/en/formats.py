"""English dates and times as Porte-voix shows them: day before month, 24-hour clock.

Django's ``en`` formats are American (``12/06/2026 9:27 a.m.``) while many of the product's
own labels are written ``H:i`` (a timeline's ``11:27``), so one English page mixed both clocks
and both day orders. The team this product serves works in Europe beside French colleagues
(whose formats are day-first and 24-hour): British English dates (Django's ``en_GB``), with
the 24-hour clock. Input formats stay Django's ``en_GB`` ones (day first); ISO dates are
always accepted as well.
"""

from django.conf.locale.en_GB.formats import (  # noqa: F401 - re-exported as this locale's
    DATE_INPUT_FORMATS,
    DATETIME_INPUT_FORMATS,
    DECIMAL_SEPARATOR,
    FIRST_DAY_OF_WEEK,
    MONTH_DAY_FORMAT,
    NUMBER_GROUPING,
    THOUSAND_SEPARATOR,
    YEAR_MONTH_FORMAT,
)

DATE_FORMAT = "j M Y"  # '25 Oct 2006'
TIME_FORMAT = "H:i"  # '14:30'
DATETIME_FORMAT = "j M Y, H:i"  # '25 Oct 2006, 14:30'
SHORT_DATE_FORMAT = "d/m/Y"  # '25/10/2006'
SHORT_DATETIME_FORMAT = "d/m/Y H:i"  # '25/10/2006 14:30'
