"""Helpers of the vendor chaos test (scripts/chaos_test.py): the IdP that writes and
remembers what was acknowledged, the vendor-state check, and read-only database queries.

Standard library only (the database is read with `psql`).
"""

import random
import subprocess
import time

import reltest as rt

GROUPS = {"c": "Developers", "cb": "Analysts"}  # Developers = Contrast's seeded g-1
CB_GROUP_ROLE, CB_DEFAULT_ROLE = "ANALYST", "READ_ONLY_ANALYST"


class Db:
    """Read-only queries through psql (tab-separated rows)."""

    def __init__(self, url):
        self.url = url

    def rows(self, sql):
        out = subprocess.run(["psql", self.url, "-XAtF", "\t", "-c", sql], capture_output=True,
                             text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"psql: {out.stderr.strip()}")
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def one(self, sql):
        r = self.rows(sql)
        return r[0][0] if r else None


class Idp:
    """Acts like Okta: SCIM writes to the bridge; every 2xx is remembered as desired state."""

    def __init__(self, port, tokens, seed):
        self.port, self.tokens = port, tokens
        self.rng = random.Random(seed)
        self.users = {"c": {}, "cb": {}}       # id -> {"userName", "family", "active"}
        self.groups = {"c": None, "cb": None}  # {"id", "members": set of user ids}
        self.writes = 0
        self.seq = 0

    def call(self, method, t, path, body=None, want=(200, 201, 204)):
        for _ in range(50):
            try:
                st, out = rt.request(self.port, method, f"/scim/v2/{t}{path}", body,
                                     self.tokens[t][0], timeout=10)
            except OSError:
                time.sleep(0.2)
                continue
            if st in want:
                self.writes += method != "GET"
                return out
            raise RuntimeError(f"{method} {t}{path} answered {st}: {out}")
        raise RuntimeError(f"{method} {t}{path}: no answer from the bridge")

    def create_groups(self):
        for t, name in GROUPS.items():
            g = self.call("POST", t, "/Groups", {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": name, "members": []})
            self.groups[t] = {"id": g["id"], "members": set()}

    def create_user(self, t, tag):
        self.seq += 1
        name = f"{tag}-{self.seq}-{self.rng.randrange(10**6)}@chaos.example"
        u = self.call("POST", t, "/Users", rt.user_body(name, "F0"))
        self.users[t][u["id"]] = {"userName": name, "family": "F0", "active": True}
        return u["id"]

    def live(self, t):
        return [i for i, u in self.users[t].items() if u["active"]]

    def random_op(self, t):
        """One update, deactivation or group change on a random active user of `t`."""
        live = self.live(t)
        if not live:
            return
        uid, r = self.rng.choice(live), self.rng.random()
        g = self.groups[t]
        if r < 0.45:
            fam = f"F{self.rng.randrange(10**6)}"
            self.call("PATCH", t, f"/Users/{uid}", rt.patch_family(fam))
            self.users[t][uid]["family"] = fam
        elif r < 0.65:
            self.call("PATCH", t, f"/Users/{uid}", rt.patch_active(False))
            self.users[t][uid]["active"] = False
        elif r < 0.9 or not g["members"]:
            self.patch_group(t, [{"op": "add", "path": "members", "value": [{"value": uid}]}])
            g["members"].add(uid)
        else:
            gone = self.rng.choice(sorted(g["members"]))
            self.patch_group(t, [{"op": "remove", "path": f'members[value eq "{gone}"]'}])
            g["members"].discard(gone)

    def patch_group(self, t, ops):
        self.call("PATCH", t, f"/Groups/{self.groups[t]['id']}", {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})

    def lost(self):
        """Acknowledged users whose stored state differs (read back through SCIM)."""
        problems = rt.db_problems(self.users, self.port, self.tokens)
        for t, g in self.groups.items():
            out = self.call("GET", t, f"/Groups/{g['id']}")
            have = {m["value"] for m in out.get("members", [])}
            if have != g["members"]:
                problems.append(f"{t} group: stored members differ from acknowledged ones")
        return problems


def vendor_state(c_port, cb_port):
    _, cs = rt.request(c_port, "GET", "/_sim/state", timeout=10)
    _, cbs = rt.request(cb_port, "GET", "/_sim/state", timeout=10)
    return cs, cbs


def vendor_problems(idp, c_port, cb_port):
    """(problems, duplicates): the simulators' state against what the IdP was told."""
    cs, cbs = vendor_state(c_port, cb_port)
    problems, dups = [], 0
    by = {"c": {}, "cb": {}}
    for u in cs["users"]:
        by["c"].setdefault(u["username"].lower(), []).append(u)
    for u in cbs["users"]:
        by["cb"].setdefault(u["login_id"].lower(), []).append(u)
    for t in by:
        for name, us in by[t].items():
            if len(us) > 1:
                dups += len(us) - 1
                problems.append(f"{t}: {len(us)} vendor accounts for {name}")
    for uid, want in idp.users["c"].items():
        have = by["c"].get(want["userName"].lower(), [])
        if not have:
            # An inactive user never created at Contrast stays uncreated (connector rule).
            if want["active"]:
                problems.append(f"c: {want['userName']} missing")
        elif have[0]["enabled"] != want["active"] or have[0]["last_name"] != want["family"]:
            problems.append(f"c: {want['userName']} enabled={have[0]['enabled']} "
                            f"last_name={have[0]['last_name']}, want {want}")
    group = next((g for g in cs["groups"] if g["name"] == GROUPS["c"]), {"users": []})
    want_ids = set()
    for uid in idp.groups["c"]["members"]:
        have = by["c"].get(idp.users["c"][uid]["userName"].lower(), [])
        want_ids.update(u["user_id"] for u in have)
    if set(group["users"]) != want_ids:
        problems.append(f"c: group {GROUPS['c']} has {len(group['users'])} members, "
                        f"want {len(want_ids)}")
    for uid, want in idp.users["cb"].items():
        have = by["cb"].get(want["userName"].lower(), [])
        role = CB_GROUP_ROLE if uid in idp.groups["cb"]["members"] else CB_DEFAULT_ROLE
        if want["active"]:
            if not have or have[0]["last_name"] != want["family"] or have[0]["role"] != role:
                problems.append(f"cb: {want['userName']} not as wanted ({want}, role {role}): "
                                f"{have[:1]}")
        elif have:
            problems.append(f"cb: {want['userName']} should be deleted")
    return problems, dups


def vendor_has(t, name, c_port, cb_port):
    cs, cbs = vendor_state(c_port, cb_port)
    if t == "c":
        return any(u["username"].lower() == name.lower() for u in cs["users"])
    return any(u["login_id"].lower() == name.lower() for u in cbs["users"])


def canary(idp, c_port, cb_port, timeout, targets=("c", "cb")):
    """A new user per target: seconds until all are at their vendor (None: not in time)."""
    t0 = time.time()
    names = {}
    for t in targets:
        uid = idp.create_user(t, "canary")
        names[t] = idp.users[t][uid]["userName"]
    while time.time() - t0 < timeout:
        if all(vendor_has(t, n, c_port, cb_port) for t, n in names.items()):
            return time.time() - t0
        time.sleep(0.2)
    return None
