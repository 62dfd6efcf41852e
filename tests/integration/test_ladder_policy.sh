#!/usr/bin/env bash
# test_ladder_policy.sh -- ladder-policy from the outside, as an operator
# uses it: eval round-trips JSON Lines (a malformed line included), check
# accepts the shipped policy files and names the JSON path of a deleted
# threshold, show prints the rules, and usage errors exit 2.
# Needs LADDERTEST_SRC (repository root) and LADDERTEST_BIN (the build's
# bin/); starts no servers.
. "$(dirname "$0")/../support/lib.sh"
lt_init
lt_keep_going
lp="$bin/ladder-policy"
lt_tmpdir tmp ladder-policy-it

# Runs "$@", storing stdout, stderr and the exit status in out, err, rc.
run() {
  set +e
  "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  set -e
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
}

expect_rc() { # WANT WHAT
  if [ "$rc" -ne "$1" ]; then fail "$2: exit status $rc, want $1 (stderr: $err)"; fi
}

expect_in() { # TEXT NEEDLE WHAT
  case "$1" in *"$2"*) ;; *) fail "$3: '$2' not in output: $1" ;; esac
}

# A little giant that meets every 2022 condition (POLICY.md), and variants.
pass='{"years_in_niche":5,"revenue":200000000,"revenue_prev":180000000,"main_revenue":180000000,"main_revenue_prev":160000000,"main_revenue_prev2":140000000,"net_profit":20000000,"rd_expense":10000000,"rd_expense_prev":9000000,"employees":300,"rd_staff":60,"asset_liability_pct":45.5,"equity_financing_2y":0,"equity_financing_3y":0,"niche_market_share_pct":15.0,"niche_market_rank":2,"ip_class1":5,"ip_class1_high_value":1,"ip_class1_self_developed":3,"ip_class2":10,"rd_institution":"PROVINCIAL","digitalization_level":3,"quality_items":3,"own_brand":true,"mgmt_certification":true,"core_business_on_info_system":true,"strategic_emerging_field":true,"field_gap_filling":false,"field_six_foundations":true,"key_chain_link":true,"honours":[],"local_score":10,"development_score":null}'
rd_only=${pass/\"rd_expense\":10000000/\"rd_expense\":5000000}
several=${pass/\"years_in_niche\":5/\"years_in_niche\":2}
several=${several/\"asset_liability_pct\":45.5/\"asset_liability_pct\":75.5}
several=${several/\"own_brand\":true/\"own_brand\":false}
missing=${pass/\"revenue\":200000000,/}
as_innovative=${pass/\{/\{\"tier\":\"INNOVATIVE\",}
as_2026=${pass/\{/\{\"at\":\"2026-01-17T00:00:00Z\",}
as_review=${pass/\"development_score\":null/\"development_score\":null,\"mode\":\"review\",\"at\":1798761600000,\"tier\":\"LITTLE_GIANT\"}

# ---- eval round trip, with a malformed line ----------------------------------
printf '%s\n' "$pass" "$rd_only" "$missing" "$several" '' "$as_innovative" "$as_2026" \
  'not json' "$as_review" >"$tmp/in.jsonl"
cat >"$tmp/want.jsonl" <<'EOF'
{"policy_version": "miit-2022", "pass": true, "score": null, "subscores": {}, "reasons": []}
{"policy_version": "miit-2022", "pass": false, "score": null, "subscores": {}, "reasons": ["LG.RD_INTENSITY"]}
{"error": "missing field 'revenue'", "line": 3}
{"policy_version": "miit-2022", "pass": false, "score": null, "subscores": {}, "reasons": ["LG.YEARS_IN_NICHE", "LG.ASSET_LIABILITY", "LG.OWN_BRAND"]}
{"policy_version": "miit-2022", "pass": true, "score": 95, "subscores": {"innovation": 40, "growth": 25, "specialization": 30}, "reasons": []}
{"policy_version": "miit-2026", "pass": false, "score": null, "subscores": {}, "reasons": ["LG.DEVELOPMENT_SCORE"]}
{"error": "not JSON: '[' or '{' expected near 'not' (column 3)", "line": 8}
{"policy_version": "miit-2026", "pass": false, "score": null, "subscores": {}, "reasons": ["LG.DEVELOPMENT_SCORE"]}
EOF
run "$lp" eval --tier LITTLE_GIANT --mode application --at 2022-06-01T00:00:00Z \
  --policy-dir "$src/deploy/policy" <"$tmp/in.jsonl"
expect_rc 1 "eval with malformed lines"
if ! diff -u "$tmp/want.jsonl" "$tmp/out"; then fail "eval output differs (above)"; fi
expect_in "$err" "2 of 9 lines malformed" "eval summary on stderr"

# every line valid: exit 0; --at as epoch milliseconds
printf '%s\n' "$pass" "$rd_only" >"$tmp/ok.jsonl"
run "$lp" eval --tier LITTLE_GIANT --at 1654041600000 --policy-dir "$src/deploy/policy" <"$tmp/ok.jsonl"
expect_rc 0 "eval with valid lines"
[ "$(wc -l <"$tmp/out")" -eq 2 ] || fail "eval: 2 lines in, $(wc -l <"$tmp/out") out"

# no tier at all: an error line, not a crash
run "$lp" eval --at 2022-06-01T00:00:00Z --policy-dir "$src/deploy/policy" <<<"$pass"
expect_rc 1 "eval without a tier"
expect_in "$out" '{"error": "no tier: give --tier or a \"tier\" field", "line": 1}' "eval without a tier"

# wrong types are named
bad_type=${pass/\"ip_class1\":5/\"ip_class1\":\"5\"}
bad_enum=${pass/\"PROVINCIAL\"/\"COUNTY\"}
extra=${pass/\{/\{\"revenu\":1,}
printf '%s\n' "$bad_type" "$bad_enum" "$extra" >"$tmp/types.jsonl"
run "$lp" eval --tier LITTLE_GIANT --at 2022-06-01T00:00:00Z --policy-dir "$src/deploy/policy" <"$tmp/types.jsonl"
expect_rc 1 "eval with wrong types"
expect_in "$out" "field 'ip_class1': expected an integer, found a string" "wrong type"
expect_in "$out" "field 'rd_institution': expected one of NONE" "wrong enum"
expect_in "$out" "unknown field 'revenu'" "unknown field"

# ---- the fast path agrees with jansson -----------------------------------------
# ladder-policy parses the common line shape itself and hands everything else
# to jansson; whatever it accepts must come out byte for byte as jansson's
# reading would. Hand-picked edge cases, then randomly damaged lines.
{
  printf '%s\n' "$pass" "$rd_only" "$several" "$missing" "$as_innovative" "$as_2026" "$as_review"
  printf '%s\n' "${pass/\"PROVINCIAL\"/\"PROV\\u0049NCIAL\"}" # an escape: jansson decodes it
  printf '%s\n' "${pass/\"revenue\":200000000/\"revenue\":2e8}"
  printf '%s\n' "${pass/\"revenue\":200000000/\"revenue\":200000000.0}"
  printf '%s\n' "${pass/\"revenue\":200000000/\"revenue\":9223372036854775808}"
  printf '%s\n' "${pass/\"revenue\":200000000/\"revenue\":-9223372036854775808}"
  printf '%s\n' "${pass/\"revenue\":200000000/\"revenue\":0200000000}"
  printf '%s\n' "${pass/\"years_in_niche\":5/\"years_in_niche\":2147483648}"
  printf '%s\n' "${pass/\"asset_liability_pct\":45.5/\"asset_liability_pct\":1e400}"
  printf '%s\n' "${pass/\"asset_liability_pct\":45.5/\"asset_liability_pct\":-0}"
  printf '%s\n' "${pass/\"asset_liability_pct\":45.5/\"asset_liability_pct\":70.0000000000000001}"
  printf '%s\n' "${pass/\"asset_liability_pct\":45.5/\"asset_liability_pct\":9007199254740993}"
  printf '%s\n' "${pass/\"asset_liability_pct\":45.5/\"asset_liability_pct\":45.}"
  printf '%s\n' "${pass/\"own_brand\":true/\"own_brand\":1}"
  printf '%s\n' "${pass/\"honours\":[]/\"honours\":[\"MAKER_CHINA_TOP50_3Y\",\"MAKER_CHINA_TOP50_3Y\"]}"
  printf '%s\n' "${pass/\"honours\":[]/\"honours\":[\"NOBEL\"]}"
  printf '%s\n' "${pass/\"honours\":[]/\"honours\":[,]}"
  printf '%s\n' "${pass/\"development_score\":null/\"development_score\":61}"
  printf '%s\n' "${pass/\"development_score\":null/\"development_score\":6.1}"
  printf '%s\n' "${pass/,\"development_score\":null/}"
  printf '%s\n' "${pass/\{/\{\"years_in_niche\":1,}" # duplicate key
  printf '%s\n' "${pass/\{/\{\"tier\":\"LITTLE_GIANT\",\"tier\":\"INNOVATIVE\",}"
  printf '%s\n' "${pass/\{/\{\"at\":\"2026-01-17T07:59:59.999+08:00\",}"
  printf '%s\n' "${pass/\{/\{\"at\":\"yesterday\",}"
  printf '%s\n' "${pass/\{/\{\"at\":1.5,}"
  printf '%s\n' "${pass/\{/\{\"mode\":\"review\",}"
  printf '%s\n' "${pass/\{/\{\"mode\":null,}"
  printf '%s\n' "${pass/\{/\{ }" "${pass/\}/ \}}" "$pass x" "[$pass]" "{}" "{\"tier\":{}}"
  printf '%s\n' "${pass//,/ , }" "${pass//:/	:	}"
} >"$tmp/edge.jsonl"
/usr/bin/python3 "$src/tools/policy/gen-eval-lines.py" 400 7 >"$tmp/gen.jsonl"
cat >"$tmp/damage.py" <<'PY'
import random, sys
rng = random.Random(11)
pieces = ['"', "\\", ",", ":", "{", "}", "[", "]", "0", "9", "-", ".", "e", " ", "\t",
          "\u00e9", "u", "n", "null", "true", "1e999", '"x"', '"tier":"INNOVATIVE"']
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    print(line)
    for _ in range(6):
        s = line
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(len(s))
            op = rng.randrange(4)
            if op == 0:
                s = s[:i] + s[i + 1:]
            elif op == 1:
                s = s[:i] + rng.choice(pieces) + s[i:]
            elif op == 2:
                s = s[:i] + rng.choice(pieces) + s[i + 1:]
            else:
                j = s.find(",", i)
                k = s.find(",", j + 1) if j > 0 else -1
                if k > 0:
                    s = s[:j] + s[j:k] + s[j:]  # a duplicated member
        print(s)
PY
/usr/bin/python3 "$tmp/damage.py" "$tmp/gen.jsonl" >>"$tmp/edge.jsonl"
run "$lp" eval --tier LITTLE_GIANT --at 2022-06-01T00:00:00Z --policy-dir "$src/deploy/policy" <"$tmp/edge.jsonl"
fast_rc=$rc
cp "$tmp/out" "$tmp/edge.fast"
run "$lp" eval --jansson-only --tier LITTLE_GIANT --at 2022-06-01T00:00:00Z \
  --policy-dir "$src/deploy/policy" <"$tmp/edge.jsonl"
[ "$rc" -eq "$fast_rc" ] || fail "fast path exit $fast_rc, jansson $rc"
if ! diff "$tmp/out" "$tmp/edge.fast" >"$tmp/edge.diff"; then
  fail "fast path and jansson disagree: $(head -c 2000 "$tmp/edge.diff")"
fi
lines=$(grep -c . "$tmp/edge.jsonl")
errors=$(grep -c '"error"' "$tmp/edge.fast" || true)
if [ "$errors" -lt 100 ] || [ "$errors" -ge "$lines" ]; then
  fail "differential input too easy: $errors errors in $lines lines"
fi

# ---- check ---------------------------------------------------------------------
run "$lp" check "$src/deploy/policy"
expect_rc 0 "check deploy/policy"
expect_in "$out" "miit-2026: applications from 2026-01-17T00:00:00.000Z, reviews from 2027-01-01T00:00:00.000Z" "check summary"

mkdir "$tmp/policy"
cp "$src/deploy/policy/"*.json "$tmp/policy/"
/usr/bin/python3 - "$tmp/policy/miit-2022.json" <<'EOF'
import json, sys
path = sys.argv[1]
with open(path) as f:
    doc = json.load(f)
del doc["tiers"]["SPECIALIZED"]["criteria"][1]["when"]["ge"]  # SP.RD_EXPENSE >= 1,000,000
with open(path, "w") as f:
    json.dump(doc, f, indent=2)
EOF
run "$lp" check "$tmp/policy"
expect_rc 1 "check with a deleted threshold"
expect_in "$err" "miit-2022.json: \$.tiers.SPECIALIZED.criteria[1].when: missing threshold" "check names the JSON path"
run "$lp" eval --tier SPECIALIZED --at 2022-06-01T00:00:00Z --policy-dir "$tmp/policy" <<<"$pass"
expect_rc 1 "eval refuses broken policy files"
expect_in "$err" "\$.tiers.SPECIALIZED.criteria[1].when" "eval names the JSON path"

run "$lp" check "$src/tests/fixtures/policy/bands-overlap"
expect_rc 1 "check overlapping bands"
expect_in "$err" "bands overlap at 3" "check overlapping bands"
run "$lp" check "$src/deploy/policy/miit-2022.json" "$src/tests/fixtures/policy/minimal"
expect_rc 0 "check a file and a directory"

# default directory: ./deploy/policy, else the source tree's
cd "$src"
run "$lp" check
expect_rc 0 "check from the repository root"
expect_in "$out" "deploy/policy: ok" "check from the repository root"
cd "$tmp"
run "$lp" check
expect_rc 0 "check elsewhere falls back to the source tree"
expect_in "$out" "$src/deploy/policy: ok" "check elsewhere falls back to the source tree"
cd /

# ---- show ------------------------------------------------------------------------
run "$lp" show miit-2022 --policy-dir "$src/deploy/policy"
expect_rc 0 "show miit-2022"
expect_in "$out" "LG.MAIN_GROWTH: main_growth_avg2 >= 5  [not checked on review]" "show criteria"
expect_in "$out" "55 <= v <= 75 -> 5" "show bands"
run "$lp" show miit-2026 --policy-dir "$src/deploy/policy"
expect_rc 0 "show miit-2026"
expect_in "$out" "INNOVATIVE: the rules of miit-2022" "show same_as"
expect_in "$out" "LG.DEVELOPMENT_SCORE: development_score >= 60" "show 2026"
run "$lp" show miit-1999 --policy-dir "$src/deploy/policy"
expect_rc 1 "show an unknown version"
expect_in "$err" "known: miit-2022 miit-2026" "show lists the versions"

# ---- usage and help ----------------------------------------------------------------
for args in "" "frobnicate" "eval --tier GIANT" "eval --mode appeal" "eval --at yesterday" \
  "eval --bogus" "eval extra" "show" "show a b" "check --bogus"; do
  # shellcheck disable=SC2086 # word splitting is the point
  run "$lp" $args </dev/null
  expect_rc 2 "usage error: ladder-policy $args"
done
for args in "--help" "eval --help" "check --help" "show --help" "eval -h"; do
  # shellcheck disable=SC2086
  run "$lp" $args
  expect_rc 0 "help: ladder-policy $args"
  expect_in "$out" "Usage: ladder-policy" "help: ladder-policy $args"
done

lt_finish test_ladder_policy
echo "test_ladder_policy: ok"
