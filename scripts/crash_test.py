"""Crash test: SCIM load against the bridge while it is `kill -9`ed at random moments.

See scripts/crash-test.sh and docs/reliability.md. Exit code 0 only when nothing
acknowledged was lost, every vendor reached its desired state and there are no duplicates.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reltest as rt  # noqa: E402


class Load:
    """Worker threads acting like an IdP: every write is retried until it is acknowledged."""

    def __init__(self, port, tokens, seed, interval):
        self.port, self.tokens = port, tokens
        # Seconds between one worker's writes (0: as fast as the bridge answers). A paced
        # load keeps the backlog, and so the time to converge, independent of how fast the
        # machine is (unpaced, a quiet machine wrote 4x more and took 256 of the 300 s).
        self.interval = interval
        self.acked = {"c": {}, "cb": {}}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.writes = 0
        self.failures = 0
        self.rng_seed = seed

    def call_until_acked(self, method, path, body, token, deadline):
        while time.time() < deadline:
            try:
                st, out = rt.request(self.port, method, path, body, token, timeout=5)
                if st < 500:
                    return st, out
            except OSError:
                pass
            with self.lock:
                self.failures += 1
            time.sleep(0.2)
        raise RuntimeError(f"{method} {path} never acknowledged")

    def worker(self, n):
        rng = random.Random(self.rng_seed * 100 + n)
        mine, seq = [], 0
        due = time.time()
        while not self.stop.is_set():
            due += self.interval
            if self.stop.wait(max(0.0, due - time.time())):
                break
            t = rng.choice(["c", "cb"])
            tok = self.tokens[t][0]
            deadline = time.time() + 120
            live = [u for u in mine if u[0] == t and self.acked[t][u[1]]["active"]]
            r = rng.random()
            if not live or r < 0.35:
                seq += 1
                name = f"w{n}-{seq}-{rng.randrange(10**6)}@crash.example"
                st, out = self.call_until_acked("POST", f"/scim/v2/{t}/Users",
                                                rt.user_body(name, "F0"), tok, deadline)
                if st == 409:  # committed before a crash hid the answer: find it
                    flt = urllib.parse.quote(f'userName eq "{name}"')
                    _, out = self.call_until_acked(
                        "GET", f"/scim/v2/{t}/Users?filter={flt}", None, tok, deadline)
                    out = out["Resources"][0]
                    # The 409 path means the first POST committed: it was acknowledged by the DB.
                elif st != 201:
                    raise RuntimeError(f"create answered {st}: {out}")
                with self.lock:
                    self.acked[t][out["id"]] = {"userName": name, "family": "F0", "active": True}
                    self.writes += 1
                mine.append((t, out["id"]))
            else:
                _, rid = rng.choice(live)
                if r < 0.85:
                    fam = f"F{rng.randrange(10**6)}"
                    body, change = rt.patch_family(fam), {"family": fam}
                else:
                    body, change = rt.patch_active(False), {"active": False}
                st, out = self.call_until_acked("PATCH", f"/scim/v2/{t}/Users/{rid}", body, tok,
                                                deadline)
                if st != 200:
                    raise RuntimeError(f"PATCH answered {st}: {out}")
                with self.lock:
                    self.acked[t][rid].update(change)
                    self.writes += 1


def queue_depth(cfg):
    out = subprocess.run([rt.binary(), "queue", "--json", "--config", cfg], capture_output=True,
                         text=True, timeout=60, env=rt.bridge_env())
    if out.returncode != 0:
        return None
    return sum(t["depth"] for t in json.loads(out.stdout)["targets"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true", help="CI form: 60 s of load")
    ap.add_argument("--duration", type=float)
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--workers", type=int)
    ap.add_argument("--rate", type=float, default=80,
                    help="acknowledged writes per second, all workers together (0: unpaced)")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--pg", default=os.environ.get("PG_ADMIN_URL",
                                                   "postgres://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--converge-timeout", type=float, default=300)
    a = ap.parse_args()
    duration = a.duration or (60 if a.short else 300)
    workers = a.workers or (4 if a.short else 8)
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="crash-test-")
    procs = rt.Procs(work)
    db = f"crash_{os.getpid()}_{rng.randrange(10**6)}"
    subprocess.run(["psql", a.pg, "-qc", f'CREATE DATABASE "{db}"'], check=True)
    db_url = a.pg.rsplit("/", 1)[0] + "/" + db
    ok = False
    try:
        ports = {k: rt.free_port() for k in ("c", "cb", "bridge")}
        procs.start("sim-contrast", [rt.binary(), "simulate", "contrast", "--listen",
                                     f"127.0.0.1:{ports['c']}"])
        procs.start("sim-carbon-black", [rt.binary(), "simulate", "carbon-black", "--listen",
                                         f"127.0.0.1:{ports['cb']}"])
        for k in ("c", "cb"):
            assert rt.wait_http(ports[k], "/_sim/state"), "simulator did not start"
            faults = {"error_rate": 0.1, "apply_then_fail_rate": 0.05, "drop_rate": 0.02,
                      "seed": a.seed}
            st, _ = rt.request(ports[k], "PUT", "/_sim/faults", faults)
            assert st in (200, 204), f"faults {st}"
        tokens = {"c": rt.new_token(), "cb": rt.new_token()}
        cfg = os.path.join(work, "bridge.toml")
        rt.bridge_config(cfg, ports["bridge"], db_url, tokens, ports["c"], ports["cb"])
        argv = [rt.binary(), "serve", "--config", cfg]
        bridge = procs.start("bridge", argv)
        assert rt.wait_http(ports["bridge"], "/readyz"), "bridge did not start"

        interval = workers / a.rate if a.rate > 0 else 0.0
        load = Load(ports["bridge"], tokens, a.seed, interval)
        threads = [threading.Thread(target=load.worker, args=(i,), daemon=True)
                   for i in range(workers)]
        t0 = time.time()
        for th in threads:
            th.start()
        seg = duration / a.kills
        kill_at = [t0 + i * seg + rng.uniform(0.2, 0.9) * seg for i in range(a.kills)]
        for k, at in enumerate(kill_at):
            time.sleep(max(0.0, at - time.time()))
            bridge.kill()  # SIGKILL
            bridge.wait()
            print(f"kill -9 #{k + 1} at {time.time() - t0:.1f}s (acknowledged so far: "
                  f"{load.writes})", flush=True)
            time.sleep(rng.uniform(0.0, 1.0))
            bridge = procs.start("bridge", argv)
            assert rt.wait_http(ports["bridge"], "/healthz"), "bridge did not restart"
        time.sleep(max(0.0, t0 + duration - time.time()))
        load.stop.set()
        for th in threads:
            th.join(timeout=150)
        load_end = time.time()
        acked_users = sum(len(v) for v in load.acked.values())
        print(f"load done: {load.writes} acknowledged writes on {acked_users} users, "
              f"{load.failures} unanswered/5xx attempts retried", flush=True)

        converged, problems, dups = None, [], 0
        while time.time() - load_end < a.converge_timeout:
            depth = queue_depth(cfg)
            problems, dups = rt.vendor_problems(load.acked, ports["c"], ports["cb"])
            if depth == 0 and not problems:
                converged = time.time() - load_end
                break
            time.sleep(1)
        lost = rt.db_problems(load.acked, ports["bridge"], tokens)
        for p in (lost + problems)[:20]:
            print("PROBLEM:", p)
        conv = f"{converged:.1f}s" if converged is not None else "NOT CONVERGED"
        print(f"FIGURES crash-test: runs={a.kills + 1} kills={a.kills} "
              f"acknowledged_writes={load.writes} users={acked_users} lost={len(lost)} "
              f"duplicates={dups} vendor_mismatches={len(problems)} time_to_converge={conv} "
              f"seed={a.seed}", flush=True)
        ok = not lost and not problems and dups == 0 and converged is not None
    finally:
        procs.cleanup()
        subprocess.run(["psql", a.pg, "-qc", f'DROP DATABASE IF EXISTS "{db}"'])
        if ok:
            subprocess.run(["rm", "-rf", work])
        else:
            print(f"logs kept in {work}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
