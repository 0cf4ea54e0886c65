#!/usr/bin/env bash
# Regenerates ocsf-lib-VERSION.json: the Process Activity class and every object as the
# reference compiler of ocsf-lib-py (github.com/ocsf/ocsf-lib-py, 0.10.4, commit 0e6f048,
# Apache-2.0) compiles them from the vendored sources, trimmed to what the cross-check in
# tests/audit_ocsf_test.ts compares: per attribute [requirement, profile, type or object
# type, is_array, enum values]. Needs python3 with dacite, semver, termcolor (Debian:
# python3-dacite python3-semver python3-termcolor) and an ocsf-lib-py checkout.
#   usage: generate.sh PATH/TO/ocsf-lib-py
set -euo pipefail
lib=$1
here=$(cd "$(dirname "$0")" && pwd)
for v in 1.3.0 1.8.0; do
  PYTHONPATH="$lib/src" /usr/bin/python3 -m ocsf.compile "$here/../ocsf-schema-$v" |
    /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
def trim(c):
    out = {}
    for k, a in c["attributes"].items():
        if k.endswith("_dt"):
            continue  # the datetime profile adds these siblings
        t = a.get("object_type") if a.get("type") == "object_t" else a.get("type")
        e = a.get("enum")
        out[k] = [a.get("requirement", "optional"), a.get("profile"), t, bool(a.get("is_array")),
                  sorted(e) if e else None]
    return out
json.dump({"classes": {"process_activity": trim(d["classes"]["process_activity"])},
           "objects": {n: trim(o) for n, o in d["objects"].items()}},
          sys.stdout, separators=(",", ":"), sort_keys=True)
' > "$here/ocsf-lib-$v.json"
done
