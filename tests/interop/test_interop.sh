#!/usr/bin/env bash
# ladder <-> python3-avro, both ways, every field compared.
# Usage: test_interop.sh INTEROP_CODEC_BINARY
set -euo pipefail
src=${LADDERTEST_SRC:?}
codec=$1
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "== every .avsc parses alone in python3-avro; fingerprints recomputed independently"
"$py" "$src/tests/interop/avro_interop.py" check-schemas "$src/schemas"
echo "== ladder encodes, python3-avro decodes"
"$codec" encode "$src/schemas" "$dir"
"$py" "$src/tests/interop/avro_interop.py" read-ladder "$src/schemas" "$dir"
echo "== python3-avro encodes, ladder decodes"
"$py" "$src/tests/interop/avro_interop.py" write "$src/schemas" "$dir"
"$codec" decode "$src/schemas" "$dir"
echo "ok - interop with python3-avro"
