"""Labels produced by triage: language, sentiment, intent and the department an intent maps to."""

from __future__ import annotations

from enum import StrEnum


class Language(StrEnum):
    FR = "fr"
    EN = "en"
    ES = "es"
    DE = "de"
    IT = "it"
    NL = "nl"
    PT = "pt"
    UNKNOWN = "unknown"


class Sentiment(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class Intent(StrEnum):
    PRICING = "pricing"
    PURCHASE = "purchase"
    COMPLAINT = "complaint"
    SUPPORT = "support"
    QUESTION = "question"
    PRAISE = "praise"
    OTHER = "other"
    LEGAL = "legal"
    HR = "hr"
    PRESS = "press"
    SPAM = "spam"


class Department(StrEnum):
    SALES = "sales"
    CUSTOMER_SERVICE = "customer_service"
    SOCIAL_TEAM = "social_team"
    LEGAL = "legal"
    HR = "hr"
    COMMUNICATION = "communication"
    NONE = "none"


class Field(StrEnum):
    """A label a person can correct."""

    LANGUAGE = "language"
    SENTIMENT = "sentiment"
    INTENT = "intent"
    DEPARTMENT = "department"


#: The department of each intent. A complaint's depends on whether it is *specific* (see
#: :func:`department_for`): this table gives the specific one's.
INTENT_TO_DEPARTMENT: dict[Intent, Department] = {
    Intent.PRICING: Department.SALES,
    Intent.PURCHASE: Department.SALES,
    Intent.COMPLAINT: Department.CUSTOMER_SERVICE,
    Intent.SUPPORT: Department.CUSTOMER_SERVICE,
    Intent.QUESTION: Department.SOCIAL_TEAM,
    Intent.PRAISE: Department.SOCIAL_TEAM,
    Intent.OTHER: Department.SOCIAL_TEAM,
    Intent.LEGAL: Department.LEGAL,
    Intent.HR: Department.HR,
    Intent.PRESS: Department.COMMUNICATION,
    Intent.SPAM: Department.NONE,
}

#: Where a general complaint goes: the social team answers it in public, positively (seed 003).
GENERAL_COMPLAINT_DEPARTMENT = Department.SOCIAL_TEAM


def department_for(intent: Intent, specific: bool = False) -> Department:
    """The department an item goes to: a complaint about one order, one account or personal
    details (*specific*) to customer service, out of public view; a general one to the social
    team, answered in public; every other intent after :data:`INTENT_TO_DEPARTMENT`."""
    if intent is Intent.COMPLAINT and not specific:
        return GENERAL_COMPLAINT_DEPARTMENT
    return INTENT_TO_DEPARTMENT[intent]


#: Languages the detector chooses among (the product's two plus its neighbours).
DETECTED_LANGUAGES: tuple[Language, ...] = (
    Language.FR,
    Language.EN,
    Language.ES,
    Language.DE,
    Language.IT,
    Language.NL,
    Language.PT,
)

FIELD_CHOICES: dict[Field, tuple[str, ...]] = {
    Field.LANGUAGE: tuple(v.value for v in Language),
    Field.SENTIMENT: tuple(v.value for v in Sentiment),
    Field.INTENT: tuple(v.value for v in Intent),
    Field.DEPARTMENT: tuple(v.value for v in Department),
}
