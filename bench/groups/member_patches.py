# One group size for bench/group_members.sh: POST /Groups with up to 5000 members (the
# seeded users seed-1 …; a bigger body passes the request size limit), the rest of MEMBERS
# inserted by SQL as seed.sql inserts users, then five of each one-member PATCH the IdPs
# send, one at a time, timed from the client.
# Usage: member_patches.py BRIDGE_URL TOKEN MEMBERS DATABASE_URL
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

base, token, m, db = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
POSTED = min(m, 5000)
ROUNDS = 5


def call(method, path, body):
    req = urllib.request.Request(
        base + "/scim/v2/contrast" + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/scim+json"},
    )
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    return status, (time.perf_counter() - t) * 1000, raw


def patch(op):
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]}


members = [{"value": f"seed-{k}"} for k in range(1, POSTED + 1)]
status, ms, raw = call("POST", "/Groups", {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "displayName": f"All {m}", "members": members})
if status != 201:
    sys.exit(f"POST /Groups answered {status}")
gid = json.loads(raw)["id"]
print(f"{m:>7} members  POST /Groups ({POSTED} members) {ms:12.1f} ms            answer {len(raw):>9} bytes")
if m > POSTED:
    subprocess.run(["psql", db, "-qXc",
        "INSERT INTO scim_group_members (target, group_id, member_id, display) "
        f"SELECT 'contrast', '{gid}', 'seed-' || g, NULL FROM generate_series({POSTED + 1}, {m}) g"],
        check=True)
for label, make in [
    ("PATCH add one (Okta)", lambda k: patch(
        {"op": "add", "path": "members", "value": [{"value": f"seed-{m + 1 + k}"}]})),
    ("PATCH remove one (Okta)", lambda k: patch(
        {"op": "remove", "path": f'members[value eq "seed-{m + 1 + k}"]'})),
    ("PATCH remove one (Entra)", lambda k: patch(
        {"op": "Remove", "path": "members", "value": [{"value": f"seed-{1 + k}"}]})),
]:
    times = []
    for k in range(ROUNDS):
        status, ms, raw = call("PATCH", f"/Groups/{gid}", make(k))
        if status not in (200, 204):
            print(f"{m:>7} members  {label:<30} answered {status} after {ms:.0f} ms: {raw[:200]!r}")
            break
        times.append(ms)
    if len(times) < ROUNDS:
        continue
    times.sort()
    print(f"{m:>7} members  {label:<30} {times[ROUNDS // 2]:9.1f} ms median "
          f"({times[0]:.1f}–{times[-1]:.1f})  answer {len(raw):>9} bytes")
