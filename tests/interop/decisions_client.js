'use strict';
// decisions_client.js -- @kafkajs/confluent-schema-registry decodes the
// decisions ladder-worker wrote with schema registry ids, and every field is
// compared with ladder's own JSON form of the same message (ladder-decisions).
//
// Usage: node decisions_client.js URL USER:PASSWORD DUMP JSONL DECISION_ID
//   DUMP         the raw messages of the decisions topic, as kcat writes them
//                with -f "%p %o %S\n%s\n": a header line "PARTITION OFFSET
//                SIZE", then SIZE bytes of value, then a newline
//   JSONL        ladder-decisions --out: one decision a line, with
//                "partition" and "offset"
//   DECISION_ID  the id the registry gave ladder.v1.DesignationDecision;
//                every message must carry it in bytes 1-4
// (the package is found through NODE_PATH).
//
// Each value is decoded twice, by two fresh clients that fetch the writer
// schema by id from the registry: one with the package defaults and one with
// avsc's wrapUnions and a Date type for timestamp-millis, the two shapes a
// consumer of this package meets. Normalisation, driven by the schema the
// registry served, makes both comparable with ladder's JSON form
// (CONTRACT.md "JSON form"):
//   - timestamp-millis: avsc gives a number (defaults) or a Date (logical
//     type); both become RFC 3339 UTC with milliseconds, as ladder writes;
//   - unions ["null", T]: avsc gives the bare value (defaults) or {T: value}
//     (wrapUnions); the wrapper is removed, checking that its one key names
//     a branch of the union;
//   - enums are symbol strings on both sides; arrays keep their order.
// The decoded record must have exactly the schema's fields and ladder's
// JSON exactly those plus "partition" and "offset". Any difference fails.
// Prints one JSON summary line.
const assert = require('assert');
const fs = require('fs');
const avro = require('avsc');
const { SchemaRegistry, SchemaType } = require('@kafkajs/confluent-schema-registry');

class DateType extends avro.types.LogicalType {
  _fromValue(v) { return new Date(v); }
  _toValue(d) { return d instanceof Date ? +d : undefined; }
  _resolve(t) { if (avro.Type.isType(t, 'long', 'int', 'logical:timestamp-millis')) return this._fromValue; }
}

// The messages of a kcat dump: [{partition, offset, value}].
function readDump(path) {
  const buf = fs.readFileSync(path);
  const out = [];
  let at = 0;
  while (at < buf.length) {
    const nl = buf.indexOf(0x0a, at);
    assert(nl > at, `dump: no header line at byte ${at}`);
    const [p, o, s] = buf.toString('latin1', at, nl).split(' ').map(Number);
    assert(Number.isInteger(s) && s >= 0, `dump: bad header at byte ${at}`);
    const value = buf.subarray(nl + 1, nl + 1 + s);
    assert(value.length === s && buf[nl + 1 + s] === 0x0a, `dump: message ${p}/${o} is cut short`);
    out.push({ partition: p, offset: o, value });
    at = nl + 2 + s;
  }
  return out;
}

const isTimestamp = (t) => t && typeof t === 'object' && t.type === 'long' && t.logicalType === 'timestamp-millis';
const branchName = (b) => (typeof b === 'string' ? b : b.type === 'enum' || b.type === 'record' || b.type === 'fixed'
  ? (b.name.includes('.') || !b.namespace ? b.name : `${b.namespace}.${b.name}`) : b.type);

// One decoded value of schema node t, in ladder's JSON form; named maps
// names to the enum and record definitions met so far.
function normalise(t, v, named, path) {
  if (typeof t === 'string' && named[t]) t = named[t];
  if (Array.isArray(t)) {
    if (v === null) return null;
    let inner = v;
    const branches = t.filter((b) => b !== 'null');
    if (typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      const keys = Object.keys(v);
      const names = branches.map((b) => (typeof b === 'string' && named[b] ? b : branchName(b)));
      if (keys.length === 1 && names.some((n) => n === keys[0] || n.endsWith(`.${keys[0]}`) || keys[0].endsWith(`.${n}`))) {
        inner = v[keys[0]];
      }
    }
    assert.strictEqual(branches.length, 1, `${path}: a union of more than null and one type`);
    return normalise(branches[0], inner, named, path);
  }
  if (isTimestamp(t)) {
    const ms = v instanceof Date ? v.getTime() : v;
    assert(Number.isSafeInteger(ms), `${path}: timestamp ${v} is not whole milliseconds`);
    return new Date(ms).toISOString();
  }
  if (t && typeof t === 'object') {
    if (t.type === 'record') {
      named[branchName(t)] = t;
      const fields = t.fields.map((f) => f.name);
      assert.deepStrictEqual(Object.keys(v).sort(), [...fields].sort(), `${path}: fields`);
      const out = {};
      for (const f of t.fields) out[f.name] = normalise(f.type, v[f.name], named, `${path}.${f.name}`);
      return out;
    }
    if (t.type === 'enum') {
      named[branchName(t)] = t;
      assert(t.symbols.includes(v), `${path}: ${v} is not a symbol of ${t.name}`);
      return v;
    }
    if (t.type === 'array') return v.map((x, i) => normalise(t.items, x, named, `${path}[${i}]`));
    return normalise(t.type, v, named, path);
  }
  return v;
}

function compare(want, got, where) {
  const diffs = [];
  for (const k of new Set([...Object.keys(want), ...Object.keys(got)])) {
    if (!(k in want) || !(k in got)) diffs.push(`${where}.${k}: present on one side only`);
    else if (JSON.stringify(want[k]) !== JSON.stringify(got[k])) {
      diffs.push(`${where}.${k}: ladder ${JSON.stringify(want[k])}, npm client ${JSON.stringify(got[k])}`);
    }
  }
  return diffs;
}

async function main() {
  const [url, userpass, dumpPath, jsonlPath, idArg] = process.argv.slice(2);
  const colon = userpass.indexOf(':');
  const auth = { username: userpass.slice(0, colon), password: userpass.slice(colon + 1) };
  const clients = {
    defaults: new SchemaRegistry({ host: url, auth, retry: { retries: 0 } }),
    wrapped: new SchemaRegistry({ host: url, auth, retry: { retries: 0 } }, {
      [SchemaType.AVRO]: { wrapUnions: true, logicalTypes: { 'timestamp-millis': DateType } },
    }),
  };
  const id = Number(idArg);
  const ladder = new Map();
  for (const line of fs.readFileSync(jsonlPath, 'utf8').split('\n')) {
    if (!line) continue;
    const d = JSON.parse(line);
    const key = `${d.partition}/${d.offset}`;
    delete d.partition;
    delete d.offset;
    ladder.set(key, d);
  }
  const messages = readDump(dumpPath);
  assert(messages.length > 0, 'the dump holds no decisions');
  assert.strictEqual(messages.length, ladder.size, `kcat read ${messages.length} decisions, ladder-decisions ${ladder.size}`);
  const schema = JSON.parse(await fetchSchema(url, auth, id));
  const diffs = [];
  const shapes = { date: 0, wrapped: 0 };
  for (const m of messages) {
    const key = `${m.partition}/${m.offset}`;
    assert.strictEqual(m.value[0], 0, `${key}: no Confluent magic byte`);
    assert.strictEqual(m.value.readInt32BE(1), id, `${key}: schema id ${m.value.readInt32BE(1)}, not the registry id ${id}`);
    const want = ladder.get(key);
    assert(want, `${key}: ladder-decisions has no decision at this offset`);
    for (const [name, client] of Object.entries(clients)) {
      const raw = await client.decode(m.value);
      if (name === 'wrapped') {
        if (raw.effective_at instanceof Date) shapes.date++;
        if (raw.tier !== null && typeof raw.tier === 'object') shapes.wrapped++;
      }
      diffs.push(...compare(want, normalise(schema, raw, {}, ''), `${key} (${name})`));
    }
  }
  // the second client must really have met the other shapes
  assert.strictEqual(shapes.date, messages.length, 'the wrapUnions client did not give Date objects');
  assert(shapes.wrapped > 0, 'the wrapUnions client never wrapped a union');
  if (diffs.length) {
    console.error(diffs.slice(0, 20).join('\n'));
    throw new Error(`${diffs.length} field(s) differ between ladder and the npm client`);
  }
  const fields = Object.keys(ladder.values().next().value).length;
  console.log(JSON.stringify({ decisions: messages.length, fields, schema_id: id, wrapped_unions: shapes.wrapped }));
}

// The schema text by id, as the registry serves it (the package keeps only
// the parsed avsc type, not the JSON).
async function fetchSchema(url, auth, id) {
  const res = await fetch(`${url}/schemas/ids/${id}`, {
    headers: { Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` },
  });
  assert.strictEqual(res.status, 200, `GET /schemas/ids/${id}: HTTP ${res.status}`);
  return (await res.json()).schema;
}

main().catch((e) => {
  console.error(`decisions_client.js: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
