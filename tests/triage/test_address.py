"""A message that opens by addressing the brand ("@acme_support the parcel is late again")
means what the rest says: the address must not turn an angry message into a calm one.

The first issue-16 models had seen a handle only in messages tagging a friend ("@lea look"),
all neutral, and read 37 % of the evaluation set's negative messages as not negative once
addressed; crisis detection, which counts negative authors, then missed storms whose messages
were mentions of the brand (``portevoix.triage.train.addressed`` trains the fast model on
addressed copies since). Hashtags in camel case are read as their words.
"""

from __future__ import annotations

from portevoix.triage.engine import TriageInput, label_batch
from portevoix.triage.features import normalize


def test_an_address_does_not_change_the_tone(eval_rows):
    rows = [r for r in eval_rows if r["set"] in ("fr", "en") and not r.get("parent_text")]
    plain = label_batch([TriageInput(r["text"]) for r in rows])
    addressed = label_batch([TriageInput("@acme_support " + r["text"]) for r in rows])
    same = sum(a.sentiment == b.sentiment for a, b in zip(plain, addressed, strict=True))
    # 0.98 when written (2026-12-03); the model before gave 0.83.
    assert same / len(rows) >= 0.95
    negative = [i for i, a in enumerate(plain) if a.sentiment.value == "negative"]
    kept = sum(addressed[i].sentiment.value == "negative" for i in negative)
    # 0.96 when written; the model before kept 0.63.
    assert kept / len(negative) >= 0.90


def test_a_hashtag_in_camel_case_reads_as_its_words():
    assert normalize("#BoycottNordia #RendezLArgent").split() == [
        "#",
        "boycott",
        "nordia",
        "#",
        "rendez",
        "l",
        "argent",
    ]
    assert normalize("#ZephyrGate #Covid19").split() == ["#", "zephyr", "gate", "#", "covid", "19"]
    # One word, or all capitals, stays as written; C# is not a hashtag.
    assert normalize("#bonplan #NASA, C# et F#") == "#bonplan #nasa, c# et f#"
