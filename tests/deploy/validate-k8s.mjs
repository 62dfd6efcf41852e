// validate-k8s.mjs -- validates Kubernetes objects (one JSON line each on
// stdin: {"file": ..., "object": ...}) against the Kubernetes OpenAPI
// schemas shipped by the kubernetes-models package: each object through
// the model class of its apiVersion and kind, whose validate() throws on
// the first schema violation. Run with NODE_PATH unset and the package
// installed under the working directory's node_modules.
import { createInterface } from "node:readline";

const lines = createInterface({ input: process.stdin });
let bad = 0;
let n = 0;
for await (const line of lines) {
  if (!line.trim()) continue;
  const { file, object } = JSON.parse(line);
  const where = `${file}: ${object.kind} ${object.metadata?.name}`;
  n++;
  let Model;
  try {
    const mod = await import(`kubernetes-models/${object.apiVersion}/${object.kind}`);
    Model = mod[object.kind];
  } catch (e) {
    console.error(`${where}: no schema for ${object.apiVersion} ${object.kind}`);
    bad++;
    continue;
  }
  try {
    new Model(object).validate();
  } catch (e) {
    console.error(`${where}: ${e.message}`);
    bad++;
  }
}
if (n === 0) {
  console.error("no Kubernetes objects given");
  process.exit(1);
}
console.log(`${n} Kubernetes objects checked, ${bad} invalid`);
process.exit(bad ? 1 : 0);
