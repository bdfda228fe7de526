"""Chart check for helm/scim-bridge, run by helm/check.sh inside its venv.

Real Helm: helm-python-sdk binds libhelm_c, a C ABI over Helm's own Go SDK
(v4), so `lint` and `render` here are Helm's lint and template code, including
values.schema.json validation. Rendered manifests are then validated with
kubernetes-validate (the Kubernetes OpenAPI schemas, strict: unknown fields fail).

Exit status 0 only when every step passed.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any, Iterator

import helm_python as helm
import kubernetes_validate
import yaml

RELEASE = "sb"
NAMESPACE = "identity"
CHART_NAME = "scim-bridge"
# Only these API groups are validated loosely (no OpenAPI schema ships for CRDs).
CRD_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}
OPTIONAL_KINDS = {"HorizontalPodAutoscaler", "ServiceMonitor", "NetworkPolicy", "Ingress"}


class CheckFailed(Exception):
    pass


def log(msg: str) -> None:
    print(msg, flush=True)


@contextlib.contextmanager
def captured_stderr() -> Iterator[list[str]]:
    """Capture fd 2 (the Go library logs there) so it can be shown only on failure."""
    out: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield out
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read().decode(errors="replace"))


def load_values(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    data = yaml.safe_load(path.read_text())
    return data or {}


def expected_error(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("# expect:"):
            return line.split(":", 1)[1].strip()
    raise CheckFailed(f"{path}: no '# expect: <part of the error>' line")


def lint(chart: Path, values_file: Path | None, kube_version: str) -> None:
    label = values_file.name if values_file else "default values"
    with captured_stderr() as err:
        report = helm.lint(
            chart,
            load_values(values_file),
            strict=True,
            namespace=NAMESPACE,
            kube_version=f"v{kube_version}",
        )
    bad = [m for m in report["messages"] if m["severity"] >= 2]
    if bad or report["errors"]:
        detail = "\n".join(f"  [{m['severity']}] {m['path']}: {m['error']}" for m in bad)
        raise CheckFailed(f"helm lint --strict ({label}) failed:\n{detail}\n{''.join(err)}")
    infos = "; ".join(m["error"] for m in report["messages"]) or "no findings"
    log(f"  ok   helm lint --strict ({label}): {infos}")


def render(chart: helm.Chart, values: dict[str, Any] | None) -> dict[str, str]:
    with captured_stderr():
        return chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)


def documents(manifests: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    docs: list[tuple[str, dict[str, Any]]] = []
    for name, text in sorted(manifests.items()):
        if name.endswith("NOTES.txt") or not text.strip():
            continue
        for doc in yaml.safe_load_all(text):
            if doc is None:
                continue
            if not isinstance(doc, dict) or "kind" not in doc:
                raise CheckFailed(f"{name}: a document is not a Kubernetes object: {doc!r:.200}")
            docs.append((name, doc))
    return docs


def validate_loose_servicemonitor(doc: dict[str, Any]) -> None:
    """No schema ships for the Prometheus Operator CRD: check the fields the chart sets."""
    spec = doc.get("spec") or {}
    problems = []
    if not doc.get("metadata", {}).get("name"):
        problems.append("metadata.name missing")
    if not spec.get("selector", {}).get("matchLabels"):
        problems.append("spec.selector.matchLabels missing")
    endpoints = spec.get("endpoints")
    if not isinstance(endpoints, list) or not endpoints:
        problems.append("spec.endpoints must be a non-empty list")
    else:
        for ep in endpoints:
            allowed = {"port", "path", "scheme", "interval", "scrapeTimeout"}
            if set(ep) - allowed:
                problems.append(f"unexpected endpoint keys {sorted(set(ep) - allowed)}")
            if ep.get("path") != "/metrics" or ep.get("port") != "http":
                problems.append("endpoint must scrape port http, path /metrics")
            for k in ("interval", "scrapeTimeout"):
                if not isinstance(ep.get(k), str):
                    problems.append(f"endpoint {k} must be a duration string")
    if problems:
        raise CheckFailed("ServiceMonitor: " + "; ".join(problems))


def validate_k8s(docs: list[tuple[str, dict[str, Any]]], versions: list[str]) -> tuple[int, int]:
    strict = loose = 0
    for name, doc in docs:
        key = (doc.get("apiVersion"), doc.get("kind"))
        if key in CRD_KINDS:
            validate_loose_servicemonitor(doc)
            loose += 1
            continue
        for version in versions:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                path = "/".join(str(p) for p in e.path)
                raise CheckFailed(
                    f"{name}: {doc['kind']} {doc['metadata'].get('name')}: Kubernetes {version} "
                    f"schema: {e.message} (at {path or '/'})"
                ) from None
            except kubernetes_validate.SchemaNotFoundError as e:
                raise CheckFailed(f"{name}: {e}") from None
        strict += 1
    return strict, loose


def find(docs: list[tuple[str, dict[str, Any]]], kind: str, suffix: str = "") -> list[dict[str, Any]]:
    return [d for _, d in docs if d["kind"] == kind and d["metadata"]["name"].endswith(suffix)]


def one(docs: list[tuple[str, dict[str, Any]]], kind: str, suffix: str = "") -> dict[str, Any]:
    found = find(docs, kind, suffix)
    if len(found) != 1:
        raise CheckFailed(f"expected one {kind} named *{suffix}, found {len(found)}")
    return found[0]


def numbers_equal(expected: Any, actual: Any, path: str) -> None:
    """The TOML must carry the values exactly, whole numbers as TOML integers."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(expected) != set(actual):
            raise CheckFailed(f"config.toml {path}: keys {sorted(actual)} != values {sorted(expected)}")
        for k in expected:
            numbers_equal(expected[k], actual[k], f"{path}.{k}")
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            raise CheckFailed(f"config.toml {path}: {actual!r} != {expected!r}")
        for i, (e, a) in enumerate(zip(expected, actual)):
            numbers_equal(e, a, f"{path}[{i}]")
    elif isinstance(expected, bool) or isinstance(expected, str):
        if expected != actual or type(expected) is not type(actual):
            raise CheckFailed(f"config.toml {path}: {actual!r} != {expected!r}")
    elif isinstance(expected, int):
        if type(actual) is not int or actual != expected:
            raise CheckFailed(f"config.toml {path}: {actual!r} is not the integer {expected}")
    elif isinstance(expected, float):
        if actual != expected:
            raise CheckFailed(f"config.toml {path}: {actual!r} != {expected!r}")
    else:
        raise CheckFailed(f"config.toml {path}: unexpected value {expected!r}")


def check_semantics(chart: helm.Chart, values: dict[str, Any], docs: list[tuple[str, dict[str, Any]]]) -> None:
    """What the issue asks of the manifests, beyond schema validity."""
    merged = chart.merge_values(values)
    dep = one(docs, "Deployment")
    pod = dep["spec"]["template"]
    spec = pod["spec"]
    c = next(x for x in spec["containers"] if x["name"] == "scim-bridge")

    if not pod["metadata"]["annotations"].get("checksum/config"):
        raise CheckFailed("Deployment: no checksum/config annotation")
    probes = {
        "startupProbe": "/healthz",
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
    }
    for probe, path in probes.items():
        if c.get(probe, {}).get("httpGet", {}).get("path") != path:
            raise CheckFailed(f"Deployment: {probe} is not GET {path}")
    sc = c["securityContext"]
    if not (sc.get("runAsNonRoot") and sc.get("readOnlyRootFilesystem")
            and sc.get("allowPrivilegeEscalation") is False
            and sc.get("capabilities", {}).get("drop") == ["ALL"]
            and sc.get("seccompProfile", {}).get("type") == "RuntimeDefault"):
        raise CheckFailed(f"Deployment: container securityContext is not locked down: {sc}")
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in spec["volumes"]}
    if "emptyDir" not in vols.get(mounts.get("/tmp", ""), {}):
        raise CheckFailed("Deployment: no writable emptyDir at /tmp")
    if mounts.get("/etc/scim-bridge") != "config":
        raise CheckFailed("Deployment: config not mounted at /etc/scim-bridge")
    env = {e["name"]: e for e in c["env"]}
    if "secretKeyRef" not in env.get("DATABASE_URL", {}).get("valueFrom", {}):
        raise CheckFailed("Deployment: DATABASE_URL does not come from a Secret")
    if c["args"][:3] != ["serve", "--config", "/etc/scim-bridge/config.toml"]:
        raise CheckFailed(f"Deployment: unexpected args {c['args']}")
    if merged["secrets"]["existingSecret"]:
        secret_vol = vols.get(mounts.get(merged["secrets"]["mountPath"], ""), {})
        if secret_vol.get("secret", {}).get("secretName") != merged["secrets"]["existingSecret"]:
            raise CheckFailed("Deployment: secrets.existingSecret not mounted at secrets.mountPath")

    # config.toml: valid TOML that says exactly what the values say.
    cm = one(docs, "ConfigMap", f"{CHART_NAME}")
    parsed = tomllib.loads(cm["data"]["config.toml"])
    expected = {k: v for k, v in merged["config"].items() if v not in ({}, None)}
    expected["listen"] = f"0.0.0.0:{merged['containerPort']}"
    expected["log_format"] = merged["logFormat"]
    numbers_equal(expected, parsed, "")

    mode = merged["migration"]["mode"]
    jobs = find(docs, "Job", "-migrate")
    if mode == "hook":
        if len(jobs) != 1:
            raise CheckFailed("migration.mode=hook but no migration Job")
        ann = jobs[0]["metadata"]["annotations"]
        if ann.get("helm.sh/hook") != "pre-install,pre-upgrade":
            raise CheckFailed(f"migration Job hook annotation is {ann.get('helm.sh/hook')!r}")
        job_c = jobs[0]["spec"]["template"]["spec"]["containers"][0]
        if job_c["args"][0] != "migrate":
            raise CheckFailed("migration Job does not run `scim-bridge migrate`")
        # The hook's ConfigMap must exist before the Job (lower weight) and match.
        hook_cm = one(docs, "ConfigMap", "-migrate")
        if int(hook_cm["metadata"]["annotations"]["helm.sh/hook-weight"]) >= int(ann["helm.sh/hook-weight"]):
            raise CheckFailed("hook ConfigMap is not created before the migration Job")
        if hook_cm["data"] != cm["data"]:
            raise CheckFailed("hook ConfigMap differs from the release ConfigMap")
    elif jobs:
        raise CheckFailed(f"migration.mode={mode} but a migration Job was rendered")
    if mode == "initContainer":
        inits = spec.get("initContainers") or []
        if not inits or inits[0]["args"][0] != "migrate":
            raise CheckFailed("migration.mode=initContainer but no migrate init container")

    pods = merged["autoscaling"]["minReplicas"] if merged["autoscaling"]["enabled"] else merged["replicaCount"]
    want_pdb = merged["podDisruptionBudget"]["enabled"] and pods > 1
    if bool(find(docs, "PodDisruptionBudget")) != want_pdb:
        raise CheckFailed(f"PodDisruptionBudget presence should be {want_pdb} (pods={pods})")
    switches = {
        "HorizontalPodAutoscaler": merged["autoscaling"]["enabled"],
        "ServiceMonitor": merged["metrics"]["serviceMonitor"]["enabled"],
        "NetworkPolicy": merged["networkPolicy"]["enabled"],
        "Ingress": merged["ingress"]["enabled"],
    }
    for kind, on in switches.items():
        if bool(find(docs, kind)) != bool(on):
            raise CheckFailed(f"{kind} rendered={not on} although its switch is {on}")
    if merged["ingress"]["enabled"] and merged["ingress"]["tls"]:
        ing = one(docs, "Ingress")
        if not ing["spec"].get("tls"):
            raise CheckFailed("Ingress has no tls section although ingress.tls is set")

    # A config change must change checksum/config (so pods roll).
    changed = copy.deepcopy(values)
    changed.setdefault("config", {}).setdefault("sync", {})
    changed["config"]["sync"]["workers"] = int(merged["config"].get("sync", {}).get("workers", 4)) + 1
    other = documents(render(chart, changed))
    other_dep = one(other, "Deployment")
    if other_dep["spec"]["template"]["metadata"]["annotations"]["checksum/config"] == \
            pod["metadata"]["annotations"]["checksum/config"]:
        raise CheckFailed("checksum/config did not change when config changed")


def check_notes(manifests: dict[str, str], values: dict[str, Any], chart: helm.Chart) -> None:
    merged = chart.merge_values(values)
    notes = next((t for n, t in manifests.items() if n.endswith("NOTES.txt")), "")
    for target in merged["config"]["targets"]:
        if f"/scim/v2/{target}" not in notes:
            raise CheckFailed(f"NOTES.txt has no SCIM URL for target {target}")
    if "/admin" not in notes or "sha256sum" not in notes:
        raise CheckFailed("NOTES.txt lacks the admin page URL or the token-hash recipe")


# Objects documented as a whole in the README values table.
WHOLE_OBJECTS = {"podSecurityContext", "securityContext", "resources"}


def value_paths(values: dict[str, Any], prefix: str = "") -> list[str]:
    paths = []
    for k, v in values.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and v and path not in WHOLE_OBJECTS:
            paths.extend(value_paths(v, f"{path}."))
        else:
            paths.append(path)
    return paths


def check_readme(chart: Path, readme: Path) -> int:
    text = readme.read_text()
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    missing = [p for p in value_paths(defaults) if f"| `{p}` |" not in text]
    if missing:
        raise CheckFailed(f"{readme}: values table lacks {', '.join(missing)}")
    return len(value_paths(defaults))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chart", type=Path, default=Path("helm/scim-bridge"))
    ap.add_argument("--tests", type=Path, default=Path("helm/tests"))
    ap.add_argument("--kube-versions", default="1.25.0,1.36.0",
                    help="comma-separated Kubernetes versions to validate against "
                         "(oldest supported by Chart.yaml kubeVersion, and current)")
    args = ap.parse_args()
    versions = [v.strip() for v in args.kube_versions.split(",") if v.strip()]
    started = time.monotonic()

    log(f"helm-check: Helm SDK {helm.helm_sdk_version()} (helm-c {helm.helm_c_version()}, "
        f"helm-python-sdk {helm.__version__}), kubernetes-validate {kubernetes_validate.__version__ if hasattr(kubernetes_validate, '__version__') else ''}".rstrip())
    good_files = sorted(args.tests.glob("values-*.yaml"))
    bad_files = sorted(args.tests.glob("bad-values-*.yaml"))
    if not any(f.name == "values-full.yaml" for f in good_files):
        raise CheckFailed("helm/tests/values-full.yaml is missing")
    if len(bad_files) < 4:
        raise CheckFailed("expected at least 4 helm/tests/bad-values-*.yaml files")

    documented = check_readme(args.chart, args.chart.parent / "README.md")
    log(f"  ok   helm/README.md documents all {documented} values")

    log("[1/4] helm lint")
    lint(args.chart, None, versions[-1])
    for f in good_files:
        lint(args.chart, f, versions[-1])

    renders = 0
    strict_total = loose_total = 0
    with helm.Chart.load(args.chart) as chart:
        log(f"[2/4] helm template + [3/4] kubernetes-validate (strict, Kubernetes {', '.join(versions)})")
        # Default values alone must fail, with the PostgreSQL message.
        try:
            render(chart, None)
        except helm.HelmError as e:
            if "scim-bridge needs PostgreSQL" not in str(e):
                raise CheckFailed(f"default values failed for another reason: {e}") from None
            log("  ok   default values: render refused with the PostgreSQL message, as designed")
        else:
            raise CheckFailed("default values rendered although no database is configured")

        for f in good_files:
            values = load_values(f) or {}
            manifests = render(chart, values)
            docs = documents(manifests)
            strict, loose = validate_k8s(docs, versions)
            check_semantics(chart, values, docs)
            check_notes(manifests, values, chart)
            kinds = sorted({d["kind"] for _, d in docs})
            note = f", {loose} CRD object(s) checked loosely (ServiceMonitor: no schema ships)" if loose else ""
            log(f"  ok   {f.name}: {len(docs)} objects valid{note}; kinds: {', '.join(kinds)}")
            renders += 1
            strict_total += strict
            loose_total += loose

        log("[4/4] bad values must be rejected")
        rejected = 0
        for f in bad_files:
            want = expected_error(f)
            try:
                render(chart, load_values(f))
            except helm.HelmError as e:
                msg = str(e)
                if want not in msg:
                    raise CheckFailed(f"{f.name}: rejected, but not for the expected reason "
                                      f"(wanted {want!r}):\n{msg}") from None
                first = next((ln.strip() for ln in msg.splitlines() if want in ln), msg.splitlines()[0])
                log(f"  ok   {f.name}: rejected ({first[:110]})")
                rejected += 1
            else:
                raise CheckFailed(f"{f.name}: rendered although it must be rejected ({want})")

    elapsed = time.monotonic() - started
    log(f"helm-check: {renders} renders valid ({strict_total} objects strict, {loose_total} CRD loose), "
        f"{rejected} bad values rejected, helm lint clean"
        + (f", {os.environ['HELM_CHECK_LINT_NOTE'].replace(',', ', ')}"
           if os.environ.get("HELM_CHECK_LINT_NOTE") else "")
        + f" ({elapsed:.1f}s)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CheckFailed as e:
        print(f"helm-check: FAILED: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
