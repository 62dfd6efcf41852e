"""Helpers of tests/deploy/check.sh: read the deployment files and print
what the shell script hands to promtool, node and ladder's config loader.

  deploycheck.py panel-rules DASHBOARD.json      a rules file, one recording
                                                 rule per panel expr
  deploycheck.py alert-coverage RULES TESTS      every alert fires in one test
                                                 and stays silent in another
  deploycheck.py metrics SRC_DIR FILE...         every ladder_* metric used is
                                                 exported by services/
  deploycheck.py compose-env CONFIG_YAML         one line per ladder service:
                                                 NAME<TAB>VAR=VALUE<TAB>...
  deploycheck.py k8s-env FILE...                 the same for every container
                                                 of the ladder image
  deploycheck.py dockerfile-env DOCKERFILE       the same for the image's ENV
  deploycheck.py k8s-json FILE...                every object as JSON lines
  deploycheck.py k8s-policy FILE...              no secret in a ConfigMap;
                                                 probes on /livez and /readyz
  deploycheck.py k8s-acl USERS_ACL FILE...       every ACL file a ConfigMap
                                                 carries equals USERS_ACL
"""
import difflib
import glob
import json
import os
import re
import shlex
import sys

import yaml

LADDER_IMAGE = "ladder:"


def panel_exprs(path):
    def walk(panels):
        for p in panels:
            yield from walk(p.get("panels", []))
            for t in p.get("targets", []):
                if t.get("expr"):
                    yield p.get("title", "?"), t["expr"]
    return list(walk(json.load(open(path))["panels"]))


def cmd_panel_rules(path):
    exprs = panel_exprs(path)
    if not exprs:
        sys.exit(f"{path}: no panel has a PromQL expr")
    rules = [{"record": f"panel:expr_{i}", "expr": e}
             for i, (_, e) in enumerate(exprs)]
    yaml.safe_dump({"groups": [{"name": "grafana-panels", "rules": rules}]},
                   sys.stdout, sort_keys=False)


def cmd_alert_coverage(rules_path, tests_path):
    alerts = [r["alert"] for g in yaml.safe_load(open(rules_path))["groups"]
              for r in g["rules"] if "alert" in r]
    fires, silent = set(), set()
    for t in yaml.safe_load(open(tests_path))["tests"]:
        for a in t.get("alert_rule_test", []):
            (fires if a.get("exp_alerts") else silent).add(a["alertname"])
    bad = [f"{a}: {'no firing test' if a not in fires else 'no silent test'}"
           for a in alerts if a not in fires or a not in silent]
    for b in bad:
        print(b, file=sys.stderr)
    if bad:
        sys.exit(1)
    print(f"{len(alerts)} alerts, each with a firing and a silent test")


def exported_metrics(src):
    """Names registered through ldr_metrics_counter/gauge/histogram in the
    C sources of services/, with a histogram's _bucket, _sum and _count."""
    names = set()
    call = re.compile(r'ldr_metrics_(counter|gauge|histogram)\(\s*[^,]+,\s*"'
                      r'([a-zA-Z_:][a-zA-Z0-9_:]*)"')
    for f in glob.glob(os.path.join(src, "services", "**", "*.c"),
                       recursive=True):
        for kind, name in call.findall(open(f, encoding="utf-8").read()):
            names.add(name)
            if kind == "histogram":
                names.update(name + s for s in ("_bucket", "_sum", "_count"))
    # From the service skeleton (every program) and from Prometheus itself.
    names.update({"ladder_ready", "up"})
    return names


def used_exprs(path):
    if path.endswith(".json"):
        return [e for _, e in panel_exprs(path)]
    doc = yaml.safe_load(open(path))
    return [r["expr"] for g in doc.get("groups", []) for r in g["rules"]]


def cmd_metrics(src, paths):
    known = exported_metrics(src)
    bad = 0
    count = 0
    for path in paths:
        for expr in used_exprs(path):
            # Drop label matchers and strings: only metric names remain.
            bare = re.sub(r'\{[^}]*\}|"[^"]*"', " ", expr)
            for name in re.findall(r'(?<![\w:])(ladder_[a-z0-9_]+|up)(?![\w:])',
                                   bare):
                count += 1
                if name not in known:
                    print(f"{path}: {name} is not a metric the programs "
                          f"export (expr: {expr})", file=sys.stderr)
                    bad += 1
    if bad:
        sys.exit(1)
    print(f"{count} metric references, all exported")


def env_line(name, env):
    return "\t".join([name] + [f"{k}={v}" for k, v in sorted(env.items())
                               if k.startswith("LADDER_")])


def cmd_compose_env(path):
    services = yaml.safe_load(open(path))["services"]
    n = 0
    for name, s in sorted(services.items()):
        if not str(s.get("image", "")).startswith(LADDER_IMAGE):
            continue
        env = s.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env)
        print(env_line(f"compose:{name}", {k: "" if v is None else str(v)
                                           for k, v in env.items()}))
        n += 1
    if not n:
        sys.exit(f"{path}: no service of the ladder image")


def k8s_docs(paths):
    for path in paths:
        for doc in yaml.safe_load_all(open(path)):
            if doc:
                yield path, doc


def pod_spec(doc):
    spec = doc.get("spec", {})
    return spec.get("template", {}).get("spec") if "template" in spec else None


def cmd_k8s_env(paths):
    docs = list(k8s_docs(paths))
    maps = {d["metadata"]["name"]: d.get("data", {}) for _, d in docs
            if d["kind"] == "ConfigMap"}
    n = 0
    for path, d in docs:
        ps = pod_spec(d)
        for c in (ps or {}).get("containers", []):
            if not c["image"].startswith(LADDER_IMAGE):
                continue
            env = {}
            for ef in c.get("envFrom", []):
                env.update(maps[ef["configMapRef"]["name"]])
            for e in c.get("env", []):
                # A value from a Secret: any string is a valid value.
                env[e["name"]] = e.get("value", "secret-placeholder")
            print(env_line(f"{os.path.basename(path)}:{d['metadata']['name']}"
                           f"/{c['name']}", env))
            n += 1
    if not n:
        sys.exit("no container of the ladder image in the manifests")


def cmd_dockerfile_env(path):
    env = {}
    text = open(path).read().replace("\\\n", " ")
    for line in text.splitlines():
        if line.strip().startswith("ENV "):
            for item in shlex.split(line.strip()[4:]):
                k, _, v = item.partition("=")
                env[k] = v
    print(env_line("Dockerfile", env))


def cmd_k8s_json(paths):
    for path, d in k8s_docs(paths):
        print(json.dumps({"file": os.path.basename(path), "object": d}))


def cmd_k8s_policy(paths):
    bad = []
    secretish = re.compile(r"PASSWORD|TOKEN|SECRET", re.I)
    for path, d in k8s_docs(paths):
        name = f"{os.path.basename(path)}: {d['kind']} {d['metadata']['name']}"
        if d["kind"] == "ConfigMap":
            bad += [f"{name}: {k} looks secret; it belongs in the Secret"
                    for k in d.get("data", {}) if secretish.search(k)]
        for c in (pod_spec(d) or {}).get("containers", []):
            for e in c.get("env", []):
                if secretish.search(e["name"]) and "value" in e:
                    bad.append(f"{name}: {e['name']} is set inline, not "
                               f"from the Secret")
            if not c["image"].startswith(LADDER_IMAGE):
                continue
            live = c.get("livenessProbe", {}).get("httpGet", {}).get("path")
            ready = c.get("readinessProbe", {}).get("httpGet", {}).get("path")
            if (live, ready) != ("/livez", "/readyz"):
                bad.append(f"{name}: probes are {live} and {ready}, not "
                           f"/livez and /readyz")
            if "requests" not in c.get("resources", {}):
                bad.append(f"{name}: no resource requests")
    for b in bad:
        print(b, file=sys.stderr)
    if bad:
        sys.exit(1)
    print("secrets only in the Secret; every ladder container probes "
          "/livez and /readyz and has requests")


def acl_lines(text):
    """The ACL rules of a file: trailing blanks and blank lines dropped,
    so YAML block scalars and files compare by their content."""
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def cmd_k8s_acl(acl_path, paths):
    want = acl_lines(open(acl_path).read())
    copies = 0
    bad = []
    for path, d in k8s_docs(paths):
        if d["kind"] != "ConfigMap":
            continue
        for key, text in (d.get("data") or {}).items():
            if not key.endswith(".acl"):
                continue
            copies += 1
            got = acl_lines(text)
            where = (f"{os.path.basename(path)}: ConfigMap "
                     f"{d['metadata']['name']} {key}")
            if got != want:
                diff = difflib.unified_diff(want, got, acl_path, where,
                                            lineterm="")
                bad.append(f"{where} differs from {acl_path}:\n"
                           + "\n".join(diff))
    if not copies:
        bad.append(f"no ConfigMap carries an ACL file (*.acl): the Redis "
                   f"of deploy/k8s would start without {acl_path}")
    for b in bad:
        print(b, file=sys.stderr)
    if bad:
        sys.exit(1)
    print(f"{copies} ConfigMap copy of {os.path.basename(acl_path)}, "
          f"equal to the file ({len(want)} users)")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {
        "panel-rules": lambda: cmd_panel_rules(*args),
        "alert-coverage": lambda: cmd_alert_coverage(*args),
        "metrics": lambda: cmd_metrics(args[0], args[1:]),
        "compose-env": lambda: cmd_compose_env(*args),
        "k8s-env": lambda: cmd_k8s_env(args),
        "dockerfile-env": lambda: cmd_dockerfile_env(*args),
        "k8s-json": lambda: cmd_k8s_json(args),
        "k8s-policy": lambda: cmd_k8s_policy(args),
        "k8s-acl": lambda: cmd_k8s_acl(args[0], args[1:]),
    }[cmd]()


if __name__ == "__main__":
    main()
