#!/usr/bin/python3
"""ladder's codec against an independent Avro implementation (python3-avro).

  avro_interop.py check-schemas SCHEMA_DIR   parse every .avsc alone; recompute
                                             every fingerprint independently
  avro_interop.py read-ladder SCHEMA_DIR DIR decode ladder's c-*.bin, compare
                                             every field with c-*.json
  avro_interop.py write SCHEMA_DIR DIR       encode py-*.bin (+ py-*.json twins)
                                             for ladder to decode
  avro_interop.py read-decisions AVSC DUMP JSONL
                                             decode the decisions of a kcat dump
                                             (-f "%p %o %S\n%s\n") with AVSC
                                             after the 5-byte frame, compare
                                             every field with ladder-decisions

Runs as /usr/bin/python3 with Debian's python3-avro. Timestamps are
timestamp-millis: python3-avro gives datetimes, the JSON twins hold epoch
milliseconds.
"""
import datetime
import glob
import io
import json
import os
import struct
import sys

import avro.io
import avro.schema

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
MS = datetime.timedelta(milliseconds=1)
PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


# ---- Parsing Canonical Form and CRC-64-AVRO, written from the spec ----------

def pcf(node, ns, defined):
    if isinstance(node, str):
        if node in PRIMITIVES:
            return json.dumps(node)
        full = node if "." in node or not ns else ns + "." + node
        assert full in defined, "unknown type " + full
        return json.dumps(full)
    if isinstance(node, list):
        return "[" + ",".join(pcf(b, ns, defined) for b in node) + "]"
    t = node["type"]
    if isinstance(t, str) and t in PRIMITIVES:
        return json.dumps(t)
    if t in ("record", "error", "enum", "fixed"):
        name = node["name"]
        own_ns = node.get("namespace", ns)
        full = name if "." in name or not own_ns else own_ns + "." + name
        defined.add(full)
        inner_ns = full.rsplit(".", 1)[0] if "." in full else ""
        out = '{"name":%s,"type":%s' % (json.dumps(full), json.dumps(t))
        if t in ("record", "error"):
            out += ',"fields":[' + ",".join(
                '{"name":%s,"type":%s}' % (json.dumps(f["name"]), pcf(f["type"], inner_ns, defined))
                for f in node["fields"]) + "]"
        elif t == "enum":
            out += ',"symbols":[' + ",".join(json.dumps(s) for s in node["symbols"]) + "]"
        else:
            out += ',"size":%d' % int(node["size"])
        return out + "}"
    if t == "array":
        return '{"type":"array","items":%s}' % pcf(node["items"], ns, defined)
    if t == "map":
        return '{"type":"map","values":%s}' % pcf(node["values"], ns, defined)
    return pcf(t, ns, defined)


def crc64_avro(data):
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for b in data:
        fp = (fp >> 8) ^ table[(fp ^ b) & 0xFF]
    return fp


# ---- datum <-> JSON twin ------------------------------------------------------

def is_timestamp(s):
    return getattr(s, "type", None) == "long" and s.get_prop("logicalType") == "timestamp-millis"


def to_twin(s, d):
    if isinstance(s, avro.schema.RecordSchema):
        return {f.name: to_twin(f.type, d[f.name]) for f in s.fields}
    if isinstance(s, avro.schema.UnionSchema):
        if d is None:
            return None
        branch = [b for b in s.schemas if b.type != "null"][0]
        return to_twin(branch, d)
    if isinstance(s, avro.schema.ArraySchema):
        items = [to_twin(s.items, x) for x in d]
        if isinstance(s.items, avro.schema.EnumSchema):  # a set, in enum order
            items.sort(key=s.items.symbols.index)
        return items
    if is_timestamp(s):
        return (d - EPOCH) // MS
    return d


def from_twin(s, t):
    if isinstance(s, avro.schema.RecordSchema):
        return {f.name: from_twin(f.type, t[f.name]) for f in s.fields}
    if isinstance(s, avro.schema.UnionSchema):
        if t is None:
            return None
        return from_twin([b for b in s.schemas if b.type != "null"][0], t)
    if isinstance(s, avro.schema.ArraySchema):
        return [from_twin(s.items, x) for x in t]
    if is_timestamp(s):
        return EPOCH + t * MS
    return t


def same(a, b, path):
    """Field-by-field equality; returns a list of differences."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append("%s.%s: present on one side only" % (path, k))
            else:
                out += same(a[k], b[k], path + "." + k)
        return out
    if isinstance(a, bool) or isinstance(b, bool):
        return [] if a is b else ["%s: %r != %r" % (path, a, b)]
    if a != b or type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return ["%s: %r != %r" % (path, a, b)]
    return []


def load_index(schema_dir):
    with open(os.path.join(schema_dir, "index.json")) as f:
        index = json.load(f)
    schemas = {}
    for sid, path in index["ids"].items():
        with open(os.path.join(schema_dir, path)) as f:
            schemas[int(sid)] = avro.schema.parse(f.read())
    return index, schemas


def check_schemas(schema_dir):
    index, _ = load_index(schema_dir)
    bad = 0
    files = sorted(glob.glob(os.path.join(schema_dir, "*.avsc")) + glob.glob(os.path.join(schema_dir, "history", "*.avsc")))
    by_file = {v: k for k, v in index["fingerprints"].items()}
    for path in files:
        rel = os.path.relpath(path, schema_dir)
        with open(path) as f:
            text = f.read()
        s = avro.schema.parse(text)  # each file alone: self-contained
        fp = "%016x" % crc64_avro(pcf(json.loads(text), "", set()).encode())
        ok = by_file.get(rel) == fp
        bad += not ok
        print("%-40s %-32s fingerprint %s %s" % (rel, s.fullname, fp, "matches index.json" if ok else "DIFFERS from index.json"))
    assert len(files) == len(index["ids"]), "index.json does not list every .avsc"
    return bad


def read_ladder(schema_dir, d):
    _, schemas = load_index(schema_dir)
    bad = n = 0
    for path in sorted(glob.glob(os.path.join(d, "c-*.bin"))):
        with open(path, "rb") as f:
            data = f.read()
        with open(path[:-4] + ".json") as f:
            twin = json.load(f)
        magic, sid = struct.unpack(">bI", data[:5])
        assert magic == 0, path
        writer = schemas[sid]
        datum = avro.io.DatumReader(writer).read(avro.io.BinaryDecoder(io.BytesIO(data[5:])))
        diffs = same(twin, to_twin(writer, datum), os.path.basename(path))
        n += 1
        bad += bool(diffs)
        for x in diffs:
            print("  " + x)
        print("%-14s schema id %-3d %s: python3-avro decoded %d fields, %s" % (
            os.path.basename(path), sid, writer.name, len(twin), "identical" if not diffs else "DIFFERENT"))
    return bad if n else 1


def write(schema_dir, d):
    """Encodes python-made records: ladder's samples with every value changed,
    and a version-0 application, which ladder must resolve with defaults."""
    index, schemas = load_index(schema_dir)
    current = {v: k for k, v in index["current"].items()}
    n = 0
    for path in sorted(glob.glob(os.path.join(d, "c-[0-9]-*.json"))):
        with open(path) as f:
            twin = json.load(f)
        kind = int(os.path.basename(path).split("-")[1])
        s = schemas[kind]
        twin = mutate(twin, n)
        buf = io.BytesIO()
        buf.write(struct.pack(">bI", 0, kind))
        avro.io.DatumWriter(s).write(from_twin(s, twin), avro.io.BinaryEncoder(buf))
        name = os.path.join(d, "py-%d-%d" % (kind, n))
        with open(name + ".bin", "wb") as f:
            f.write(buf.getvalue())
        with open(name + ".json", "w") as f:
            json.dump(twin, f, ensure_ascii=False, sort_keys=True)
        n += 1
    # Version 0 of ApplicationSubmitted (id 101): no honours, no
    # development_score. ladder decodes it with the current reader's
    # defaults: [] and null.
    with open(os.path.join(d, "c-1-0.json")) as f:
        twin = mutate(json.load(f), 99)
    old = dict(twin, indicators={k: v for k, v in twin["indicators"].items() if k not in ("honours", "development_score")})
    buf = io.BytesIO()
    buf.write(struct.pack(">bI", 0, 101))
    avro.io.DatumWriter(schemas[101]).write(from_twin(schemas[101], old), avro.io.BinaryEncoder(buf))
    with open(os.path.join(d, "py-v0-1.bin"), "wb") as f:
        f.write(buf.getvalue())
    expect = dict(twin, indicators=dict(twin["indicators"], honours=[], development_score=None))
    with open(os.path.join(d, "py-v0-1.json"), "w") as f:
        json.dump(expect, f, ensure_ascii=False, sort_keys=True)
    print("python3-avro encoded %d records (%d current, 1 of schema id 101)" % (n + 1, n))
    return 0


def rfc3339(d):
    """A timestamp-millis datetime as ladder's JSON form writes it."""
    d = d.astimezone(datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)


def to_json_form(s, d):
    """A decoded datum in ladder's JSON form (CONTRACT.md "JSON form")."""
    if isinstance(s, avro.schema.RecordSchema):
        return {f.name: to_json_form(f.type, d[f.name]) for f in s.fields}
    if isinstance(s, avro.schema.UnionSchema):
        return None if d is None else to_json_form([b for b in s.schemas if b.type != "null"][0], d)
    if isinstance(s, avro.schema.ArraySchema):
        return [to_json_form(s.items, x) for x in d]
    if is_timestamp(s):
        return rfc3339(d)
    return d


def read_dump(path):
    """The messages of a kcat dump: [(partition, offset, value)]."""
    with open(path, "rb") as f:
        buf = f.read()
    out, at = [], 0
    while at < len(buf):
        nl = buf.index(b"\n", at)
        p, o, size = (int(x) for x in buf[at:nl].split())
        value = buf[nl + 1:nl + 1 + size]
        assert len(value) == size and buf[nl + 1 + size:nl + 2 + size] == b"\n", "message %d/%d is cut short" % (p, o)
        out.append((p, o, value))
        at = nl + 2 + size
    return out


def read_decisions(avsc, dump, jsonl):
    """python3-avro decodes the worker's decisions with the .avsc alone (the
    schema id is only checked to be the same on every message)."""
    with open(avsc) as f:
        schema = avro.schema.parse(f.read())
    ladder = {}
    with open(jsonl) as f:
        for line in f:
            d = json.loads(line)
            ladder[(d.pop("partition"), d.pop("offset"))] = d
    messages = read_dump(dump)
    assert messages, "the dump holds no decisions"
    assert len(messages) == len(ladder), "kcat read %d decisions, ladder-decisions %d" % (len(messages), len(ladder))
    ids, bad = set(), 0
    for p, o, value in messages:
        magic, sid = struct.unpack(">bI", value[:5])
        assert magic == 0, "%d/%d: no Confluent magic byte" % (p, o)
        ids.add(sid)
        decoder = avro.io.BinaryDecoder(io.BytesIO(value[5:]))
        datum = avro.io.DatumReader(schema).read(decoder)
        assert decoder.reader.read() == b"", "%d/%d: bytes left after the record" % (p, o)
        diffs = same(ladder[(p, o)], to_json_form(schema, datum), "%d/%d" % (p, o))
        bad += bool(diffs)
        for x in diffs[:5]:
            print("  " + x)
    assert len(ids) == 1, "the decisions carry several schema ids: %s" % sorted(ids)
    print("python3-avro decoded %d decisions (schema id %d) with %s: %s" % (
        len(messages), ids.pop(), os.path.basename(avsc), "every field equal to ladder-decisions" if not bad else "%d DIFFERENT" % bad))
    return bad


def mutate(t, seed):
    """Changes every value in a JSON twin, staying valid for its schema."""
    out = {}
    for k, v in t.items():
        if isinstance(v, dict):
            out[k] = mutate(v, seed)
        elif isinstance(v, bool):
            out[k] = not v
        elif isinstance(v, int):
            out[k] = v + 1 + seed if k not in ("digitalization_level", "quality_items") else 1 + (v + seed) % 4
        elif isinstance(v, float):
            out[k] = v / 3.0 + seed
        elif isinstance(v, str) and v.isupper() and v.replace("_", "").isalpha():
            out[k] = v  # an enum symbol
        elif isinstance(v, str):
            out[k] = v + "·py%d" % seed
        else:
            out[k] = v
    return out


if __name__ == "__main__":
    cmd = sys.argv[1]
    rc = {"check-schemas": lambda: check_schemas(sys.argv[2]),
          "read-ladder": lambda: read_ladder(sys.argv[2], sys.argv[3]),
          "write": lambda: write(sys.argv[2], sys.argv[3]),
          "read-decisions": lambda: read_decisions(sys.argv[2], sys.argv[3], sys.argv[4])}[cmd]()
    sys.exit(1 if rc else 0)
