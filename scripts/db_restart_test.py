"""Database restart under SCIM write load, on a private Postgres cluster.

See scripts/db-restart-test.sh and docs/reliability.md. Never touches the shared server.
"""

import argparse
import glob
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reltest as rt  # noqa: E402


def as_postgres(args):
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--"] + args
    return subprocess.run(args, check=True, capture_output=True, text=True)


class Writer:
    def __init__(self, port, tokens):
        self.port, self.tokens = port, tokens
        self.acked = {"c": {}, "cb": {}}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.counts = {"2xx": 0, "503_scim": 0, "500": 0, "other": 0, "no_answer": 0}
        self.slowest = 0.0
        self.outage_writes = 0

    def one(self, method, path, body, token):
        t0 = time.time()
        try:
            st, out = rt.request(self.port, method, path, body, token, timeout=15)
        except OSError:
            st, out = None, None
        self.slowest = max(self.slowest, time.time() - t0)
        with self.lock:
            if st is None:
                self.counts["no_answer"] += 1
            elif 200 <= st < 300:
                self.counts["2xx"] += 1
            elif st == 503 and isinstance(out, dict) and \
                    "urn:ietf:params:scim:api:messages:2.0:Error" in out.get("schemas", []):
                self.counts["503_scim"] += 1
            elif st >= 500:
                self.counts["500"] += 1
                print("5xx answer:", st, out, flush=True)
            else:
                self.counts["other"] += 1
                print("unexpected answer:", st, out, flush=True)
        return st, out

    def worker(self, n):
        rng = random.Random(n)
        seq, mine = 0, []
        while not self.stop.is_set():
            t = rng.choice(["c", "cb"])
            tok = self.tokens[t][0]
            if mine and rng.random() < 0.4:
                tt, rid = rng.choice(mine)
                fam = f"F{rng.randrange(10**6)}"
                # Like an IdP: a write that got no 2xx is retried until it does.
                while True:
                    st, _ = self.one("PATCH", f"/scim/v2/{tt}/Users/{rid}", rt.patch_family(fam),
                                     self.tokens[tt][0])
                    if st == 200:
                        with self.lock:
                            self.acked[tt][rid]["family"] = fam
                        break
                    time.sleep(0.2)
            else:
                seq += 1
                name = f"d{n}-{seq}@dbfault.example"
                st, out = self.one("POST", f"/scim/v2/{t}/Users", rt.user_body(name, "F0"), tok)
                if st == 201:
                    with self.lock:
                        self.acked[t][out["id"]] = {"userName": name, "family": "F0",
                                                    "active": True}
                    mine.append((t, out["id"]))
            time.sleep(0.02)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--outage", type=float, default=6.0, help="seconds Postgres stays down")
    a = ap.parse_args()
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        sys.exit("no /usr/lib/postgresql/*/bin/initdb: install postgresql")
    pgbin = os.path.dirname(bins[-1])
    work = tempfile.mkdtemp(prefix="db-restart-")
    os.chmod(work, 0o777)
    data = os.path.join(work, "pgdata")
    pg_port = rt.free_port()
    procs = rt.Procs(work)
    ok = False
    pg_log = os.path.join(work, "postgres.log")
    pg_opts = f"-p {pg_port} -k /tmp -c listen_addresses=127.0.0.1"

    def pg_ctl(*args):
        return as_postgres([os.path.join(pgbin, "pg_ctl"), "-D", data, "-l", pg_log, *args])

    try:
        as_postgres([os.path.join(pgbin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres"])
        pg_ctl("-o", pg_opts, "-w", "start")
        admin = f"postgres://postgres@127.0.0.1:{pg_port}/postgres"
        subprocess.run(["psql", admin, "-qc", "CREATE DATABASE bridge"], check=True)
        ports = {k: rt.free_port() for k in ("c", "cb", "bridge")}
        procs.start("sim-contrast", [rt.binary(), "simulate", "contrast", "--listen",
                                     f"127.0.0.1:{ports['c']}"])
        procs.start("sim-carbon-black", [rt.binary(), "simulate", "carbon-black", "--listen",
                                         f"127.0.0.1:{ports['cb']}"])
        tokens = {"c": rt.new_token(), "cb": rt.new_token()}
        cfg = os.path.join(work, "bridge.toml")
        rt.bridge_config(cfg, ports["bridge"], f"postgres://postgres@127.0.0.1:{pg_port}/bridge",
                         tokens, ports["c"], ports["cb"])
        bridge = procs.start("bridge", [rt.binary(), "serve", "--config", cfg])
        assert rt.wait_http(ports["bridge"], "/readyz"), "bridge did not start"

        readyz, stop_ready = [], threading.Event()

        def poll_ready():
            while not stop_ready.is_set():
                try:
                    st = rt.request(ports["bridge"], "GET", "/readyz", timeout=5)[0]
                except OSError:
                    st = None
                readyz.append((time.time(), st))
                time.sleep(0.1)

        w = Writer(ports["bridge"], tokens)
        threads = [threading.Thread(target=w.worker, args=(i,), daemon=True) for i in range(3)]
        threads.append(threading.Thread(target=poll_ready, daemon=True))
        for th in threads:
            th.start()
        time.sleep(5)
        before = dict(w.counts)
        t_stop = time.time()
        pg_ctl("-m", "fast", "-w", "stop")
        print(f"postgres stopped (acknowledged so far: {before['2xx']})", flush=True)
        time.sleep(a.outage)
        pg_ctl("-o", pg_opts, "-w", "start")
        t_start = time.time()
        print("postgres started again", flush=True)
        time.sleep(8)
        w.stop.set()
        for th in threads[:-1]:
            th.join(timeout=60)
        stop_ready.set()
        threads[-1].join(timeout=10)

        down = [t for t, st in readyz if t_stop <= t and st != 200]
        back = [t for t, st in readyz if t > t_start and st == 200]
        readyz_false = (back[0] - down[0]) if down and back else None
        lost = rt.db_problems(w.acked, ports["bridge"], tokens)
        for p in lost[:20]:
            print("LOST:", p)
        alive = bridge.poll() is None
        acked = sum(len(v) for v in w.acked.values())
        c = w.counts
        rf = f"{readyz_false:.1f}s" if readyz_false is not None else "never-false"
        print(f"FIGURES db-restart: outage={a.outage:.0f}s readyz_false={rf} "
              f"writes_2xx={c['2xx']} users={acked} answered_503_scim={c['503_scim']} "
              f"answered_500={c['500']} other={c['other']} no_answer={c['no_answer']} "
              f"slowest_answer={w.slowest:.1f}s lost={len(lost)} "
              f"bridge_restarted={'no' if alive else 'DIED'}", flush=True)
        ok = (readyz_false is not None and c["503_scim"] > 0 and c["500"] == 0
              and c["no_answer"] == 0 and c["other"] == 0 and not lost and alive
              and c["2xx"] > before["2xx"])
    finally:
        procs.cleanup()
        try:
            pg_ctl("-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"logs kept in {work}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
