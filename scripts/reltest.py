"""Shared helpers for the reliability scripts (crash test, database restart test).

Standard library only. Everything listens on 127.0.0.1; every process started here is
recorded and killed by `Procs.cleanup()`.
"""

import hashlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import time

SIM_CONTRAST = dict(org="00000000-0000-0000-0000-0000000000aa", username="bridge@example.com",
                    service_key="svc-key", api_key="api-key")
SIM_CB = dict(org_key="ABCD1234", api_id="APIID0001", api_secret="api-secret")


def binary():
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    return os.path.join(target, "debug", "scim-bridge")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_token():
    tok = "sb_" + secrets.token_hex(24)
    return tok, hashlib.sha256(tok.encode()).hexdigest()


def bridge_env():
    """Our environment minus what would override a generated config file (CI sets
    DATABASE_URL; any SCIM_BRIDGE_* is config too)."""
    return {k: v for k, v in os.environ.items()
            if k != "DATABASE_URL" and not k.startswith("SCIM_BRIDGE_")}


class Procs:
    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = []

    def start(self, name, args):
        log = open(os.path.join(self.workdir, name + ".log"), "ab")
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
                             env=bridge_env())
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()


def request(port, method, path, body=None, token=None, timeout=5.0):
    """One HTTP call; returns (status, parsed JSON or text) or raises OSError."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/scim+json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        data = json.dumps(body) if body is not None else None
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        raw = r.read().decode("utf-8", "replace")
        try:
            return r.status, json.loads(raw) if raw else None
        except ValueError:
            return r.status, raw
    except (http.client.HTTPException, ValueError) as e:
        raise OSError(str(e))
    finally:
        conn.close()


def wait_http(port, path, want=200, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if request(port, "GET", path, timeout=2)[0] == want:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def bridge_config(path, listen_port, db_url, tokens, c_port, cb_port, extra_sync="", sync=None,
                  c_extra="", cb_extra=""):
    """Writes a config with a Contrast target `c` and a Carbon Black target `cb`.

    `sync` overrides [sync] keys (e.g. {"max_attempts": 8}); `c_extra` / `cb_extra` are TOML
    lines appended to the target tables."""
    _, admin_hash = new_token()
    settings = {"workers": 4, "lease": 10, "retry_base": 0.2, "retry_max": 3,
                "max_attempts": 1000}
    settings.update(sync or {})
    sync_lines = "\n".join(f"{k} = {v}" for k, v in settings.items())
    text = f'''listen = "127.0.0.1:{listen_port}"
database_url = "{db_url}"
admin_token_sha256 = ["{admin_hash}"]

[sync]
{sync_lines}
{extra_sync}

[targets.c]
kind = "contrast"
token_sha256 = ["{tokens["c"][1]}"]
base_url = "http://127.0.0.1:{c_port}/Contrast/api/ng"
org_uuid = "{SIM_CONTRAST["org"]}"
username = "{SIM_CONTRAST["username"]}"
service_key = "{SIM_CONTRAST["service_key"]}"
api_key = "{SIM_CONTRAST["api_key"]}"
{c_extra}

[targets.cb]
kind = "carbon_black"
token_sha256 = ["{tokens["cb"][1]}"]
base_url = "http://127.0.0.1:{cb_port}"
org_key = "{SIM_CB["org_key"]}"
api_id = "{SIM_CB["api_id"]}"
api_secret = "{SIM_CB["api_secret"]}"
default_role = "READ_ONLY_ANALYST"
{cb_extra}
'''
    with open(path, "w") as f:
        f.write(text)


def user_body(name, family):
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
            "name": {"givenName": "Given", "familyName": family},
            "emails": [{"value": name, "primary": True, "type": "work"}], "active": True}


def patch_family(family):
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "name.familyName", "value": family}]}


def patch_active(active):
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": active}}]}


def vendor_problems(acked, c_port, cb_port):
    """Compares the simulators' state with the acknowledged SCIM state.

    `acked[target][id] = {"userName", "family", "active"}`. Returns (problems, duplicates).
    """
    problems, dups = [], 0
    _, cs = request(c_port, "GET", "/_sim/state")
    _, cbs = request(cb_port, "GET", "/_sim/state")
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
    for t, users in acked.items():
        for _id, want in users.items():
            have = by[t].get(want["userName"].lower(), [])
            if t == "c":
                if not have:
                    # An inactive user never created at Contrast stays uncreated (connector rule).
                    if want["active"]:
                        problems.append(f"c: {want['userName']} missing")
                elif have[0]["enabled"] != want["active"] or have[0]["last_name"] != want["family"]:
                    problems.append(f"c: {want['userName']} is enabled={have[0]['enabled']} "
                                    f"last_name={have[0]['last_name']}, want {want}")
            else:
                if want["active"] and (not have or have[0]["last_name"] != want["family"]):
                    problems.append(f"cb: {want['userName']} not as wanted {want}: {have[:1]}")
                if not want["active"] and have:
                    problems.append(f"cb: {want['userName']} should be deleted")
    return problems, dups


def db_problems(acked, port, tokens):
    """Reads every acknowledged resource back through SCIM (served from the database)."""
    problems = []
    for t, users in acked.items():
        for rid, want in users.items():
            st, u = request(port, "GET", f"/scim/v2/{t}/Users/{rid}", token=tokens[t][0])
            if st != 200:
                problems.append(f"{t}/{rid} ({want['userName']}): GET {st}")
                continue
            got = (u.get("name", {}).get("familyName"), u.get("active"))
            if got != (want["family"], want["active"]):
                problems.append(f"{t}/{rid}: stored {got}, acknowledged {want}")
    return problems
