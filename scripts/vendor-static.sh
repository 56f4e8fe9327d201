#!/usr/bin/env bash
# Refresh portevoix/static/vendor from the npm registry at the versions pinned in package.json.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
htmx=$(node -p "require('./package.json').dependencies['htmx.org']")
alpine=$(node -p "require('./package.json').dependencies['alpinejs']")
chartjs=$(node -p "require('./package.json').dependencies['chart.js']")
(cd "$tmp" && npm pack --silent "htmx.org@$htmx" "alpinejs@$alpine" "chart.js@$chartjs" >/dev/null)
mkdir -p "$tmp/h" "$tmp/a" "$tmp/c"
tar xzf "$tmp/htmx.org-$htmx.tgz" -C "$tmp/h"
tar xzf "$tmp/alpinejs-$alpine.tgz" -C "$tmp/a"
tar xzf "$tmp/chart.js-$chartjs.tgz" -C "$tmp/c"
rm -f portevoix/static/vendor/htmx-*.min.js portevoix/static/vendor/alpine-*.min.js \
  portevoix/static/vendor/chart-*.umd.min.js
cp "$tmp/h/package/dist/htmx.min.js" "portevoix/static/vendor/htmx-$htmx.min.js"
cp "$tmp/a/package/dist/cdn.min.js" "portevoix/static/vendor/alpine-$alpine.min.js"
cp "$tmp/h/package/LICENSE" portevoix/static/vendor/htmx.LICENSE
# Without its source map line: the map is not shipped, and collectstatic's manifest would
# refuse the reference.
grep -v '^//# sourceMappingURL=' "$tmp/c/package/dist/chart.umd.min.js" \
  > "portevoix/static/vendor/chart-$chartjs.umd.min.js"
cp "$tmp/c/package/LICENSE.md" portevoix/static/vendor/chart.LICENSE
echo "vendored htmx $htmx, alpine $alpine and chart.js $chartjs; update the script tags in"
echo "templates/base.html and analytics/templates/analytics/dashboard.html"
