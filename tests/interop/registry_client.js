'use strict';
// registry_client.js -- @kafkajs/confluent-schema-registry against
// ladder-registry: registers an .avsc under its record's full name (twice:
// the second time the client reads back the compatibility level it set),
// fetches the schema by id with a fresh client, encodes a DesignationDecision
// and decodes it back, and checks that an unknown id is refused. Prints
// {"id", "latest", "by_schema", "wire_id"} for the shell to compare with curl.
//
// Usage: node registry_client.js URL USER:PASSWORD AVSC
// (the package is found through NODE_PATH).
const assert = require('assert');
const fs = require('fs');
const { SchemaRegistry, SchemaType } = require('@kafkajs/confluent-schema-registry');

async function main() {
  const [url, userpass, avscPath] = process.argv.slice(2);
  const colon = userpass.indexOf(':');
  const auth = { username: userpass.slice(0, colon), password: userpass.slice(colon + 1) };
  const connect = () => new SchemaRegistry({ host: url, auth, retry: { retries: 0 } });
  const schema = fs.readFileSync(avscPath, 'utf8');
  const parsed = JSON.parse(schema);
  const subject = `${parsed.namespace}.${parsed.name}`;

  const registry = connect();
  const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject });
  const again = await registry.register({ type: SchemaType.AVRO, schema }, { subject });
  assert.strictEqual(again.id, id, 'registering the same schema again gave another id');
  const latest = await registry.getLatestSchemaId(subject);
  const bySchema = await registry.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema });

  // A fresh client has nothing cached: it fetches the schema by id.
  const fresh = connect();
  const type = await fresh.getSchema(id);
  assert.strictEqual(type.name, subject, 'the schema fetched by id is another record');

  const record = {
    decision_id: 'd-0001',
    uscc: '91110108MA01A2B3C4',
    enterprise_name: '北京示例科技有限公司',
    reporting_unit: '110000',
    tier: 'SPECIALIZED',
    decision: 'DESIGNATED',
    reasons: ['R1', 'R2'],
    effective_at: 1700000000000,
    valid_from: 1700000000000,
    valid_until: null,
    review_deadline: 1794608000000,
    ban_until: null,
    case_id: null,
    batch: 3,
    score: 87,
    policy_version: '2024.1',
    cause_event_id: 'e-42',
    cause: 'review passed',
    decided_at: 1700000000123,
  };
  const wire = await registry.encode(id, record);
  assert.strictEqual(wire[0], 0, 'no Confluent magic byte');
  const wireId = wire.readInt32BE(1);
  const back = await fresh.decode(wire);
  assert.deepStrictEqual(JSON.parse(JSON.stringify(back)), record, 'the record did not survive encode and decode');

  let refused = null;
  try {
    await fresh.getSchema(id + 1000);
  } catch (e) {
    refused = e;
  }
  assert(refused && /Schema not found/.test(String(refused.message)),
    `an unknown id was not refused with "Schema not found": ${refused}`);

  console.log(JSON.stringify({ id, latest, by_schema: bySchema, wire_id: wireId }));
}

main().catch((e) => {
  console.error(`registry_client.js: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
