#!/usr/bin/env bash
# docs/SCALING.md's tables are what tools/bench/scaling-model prints for the
# costs the page names (so the model and the page cannot drift apart), and
# the script refuses costs that are not positive numbers (exit status 2).
. "$(dirname "$0")/../support/lib.sh"
lt_init
doc=$src/docs/SCALING.md
model=$src/tools/bench/scaling-model
n=0
while read -r w r; do
  out=$("$model" --worker-us "$w" --redis-us "$r" | sed 's/M >= 32 x R \/ W/M ≥ 32 × R \/ W/') || fail "scaling-model --worker-us $w --redis-us $r failed"
  /usr/bin/python3 -c 'import sys; sys.exit(0 if sys.argv[1] in open(sys.argv[2]).read() else 1)' "$out" "$doc" \
    || fail "SCALING.md does not hold the table for W=$w R=$r; regenerate it with: tools/bench/scaling-model --worker-us $w --redis-us $r"
  n=$((n + 1))
done < <(sed -nE 's/^tools\/bench\/scaling-model --worker-us ([0-9.]+) --redis-us ([0-9.]+).*/\1 \2/p' "$doc")
[ "$n" -ge 1 ] || fail "SCALING.md names no scaling-model command"
ok "the $n tables of SCALING.md are the model's"
for bad in "0 1" "-1 1" "x 1" "1 0"; do
  set -- $bad; rc=0
  "$model" --worker-us "$1" --redis-us "$2" >/dev/null 2>&1 || rc=$?
  [ "$rc" -eq 2 ] || fail "--worker-us $1 --redis-us $2 exited $rc, want 2"
done
rc=0; "$model" --worker-us 1 --redis-us 1 --masters 2 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--masters 2 exited $rc, want 2"
ok "bad costs and fewer than 3 masters are usage errors"
# The even placement spreads 64 partitions over 6 masters within one.
line=$("$model" --worker-us 1 --redis-us 1 --partitions 64 | grep "| 64 | even |")
counts=$(echo "$line" | cut -d"|" -f4)
/usr/bin/python3 -c 'import sys; c=[int(x) for x in sys.argv[1].split()]; sys.exit(0 if sum(c)==64 and max(c)-min(c)<=1 else 1)' "$counts" \
  || fail "64 partitions over 6 masters: $counts"
ok "64 partitions over 6 masters: $counts"
