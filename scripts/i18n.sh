#!/usr/bin/env bash
# Refresh the catalogs from the code, then compile them. Translate new French entries in
# portevoix/locale/fr/LC_MESSAGES/django.po; English msgstrs are copied from the msgids.
set -euo pipefail
cd "$(dirname "$0")/../portevoix"
export PORTEVOIX_DATA_DIR="${PORTEVOIX_DATA_DIR:-$(mktemp -d)}"
PY=../.venv/bin/python
$PY -m django makemessages --settings=portevoix.settings --no-location --no-obsolete -l fr -l en -i "static/*" "$@"
$PY - <<'PYEOF'
import polib
po = polib.pofile("locale/en/LC_MESSAGES/django.po")
for entry in po:
    entry.msgstr = entry.msgid
    if entry.msgid_plural:
        entry.msgstr_plural = {0: entry.msgid, 1: entry.msgid_plural}
    if "fuzzy" in entry.flags:
        entry.flags.remove("fuzzy")
po.metadata["Language"] = "en"
po.metadata["Plural-Forms"] = "nplurals=2; plural=(n != 1);"
po.save()
PYEOF
$PY -m django compilemessages --settings=portevoix.settings -i static
