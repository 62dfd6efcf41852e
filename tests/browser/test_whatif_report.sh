#!/usr/bin/env bash
# ladder-whatif's HTML report in a real browser: a generated history under
# the register as it is and under the 2026 revision applied from 2022 with
# a 4 % R&D-intensity bar for specialized SMEs (so two tiers' bars move);
# headless Chromium (/usr/bin/chromium, whatif_report.py) loads the report
# from a file and checks that it is self-contained, that both charts are
# drawn and say what report.json says, and that the table and the changed
# count agree. The screenshot is kept in the build tree
# ($LADDERTEST_ARTIFACTS/whatif-report.png).
set -euo pipefail
src=${LADDERTEST_SRC:?}
bin=${LADDERTEST_BIN:?}
[ -x /usr/bin/chromium ] || { echo "FAIL - /usr/bin/chromium is not installed (./tools/test installs it)"; exit 1; }
shot=${LADDERTEST_ARTIFACTS:-$src/build/tests/browser}/whatif-report.png
work=$(mktemp -d "${TMPDIR:-/tmp}/whatif-report.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$bin/ladder-gen" --scale 0.01 --seed 5 --out "$work/g" -q
LADDER_UNITS_FILE=$src/deploy/data/reporting_units.csv \
  "$bin/ladder-whatif" --history "$work"/g/*.csv --baseline "$src/deploy/policy" --partitions 8 \
  --set miit-2026.applies_from.application=2022-01-01T00:00:00Z \
  --set miit-2022.tiers.SPECIALIZED.criteria.SP.RD_INTENSITY.when.ge=4 --out "$work/r" >/dev/null 2>"$work/err" \
  || { echo "FAIL - ladder-whatif: $(cat "$work/err")"; exit 1; }
/usr/bin/python3 "$src/tests/browser/whatif_report.py" "$work/r" "$shot"
