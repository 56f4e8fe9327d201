#!/usr/bin/env bash
# Refresh portevoix/static/vendor from the npm registry at the versions pinned in package.json.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
htmx=$(node -p "require('./package.json').dependencies['htmx.org']")
alpine=$(node -p "require('./package.json').dependencies['alpinejs']")
(cd "$tmp" && npm pack --silent "htmx.org@$htmx" "alpinejs@$alpine" >/dev/null)
mkdir -p "$tmp/h" "$tmp/a"
tar xzf "$tmp/htmx.org-$htmx.tgz" -C "$tmp/h"
tar xzf "$tmp/alpinejs-$alpine.tgz" -C "$tmp/a"
rm -f portevoix/static/vendor/htmx-*.min.js portevoix/static/vendor/alpine-*.min.js
cp "$tmp/h/package/dist/htmx.min.js" "portevoix/static/vendor/htmx-$htmx.min.js"
cp "$tmp/a/package/dist/cdn.min.js" "portevoix/static/vendor/alpine-$alpine.min.js"
cp "$tmp/h/package/LICENSE" portevoix/static/vendor/htmx.LICENSE
echo "vendored htmx $htmx and alpine $alpine; update the script tags in templates/base.html"
