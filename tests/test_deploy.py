"""The deployment: k3s manifests, the Dockerfile, .dockerignore and deploy.sh, checked offline.

Why: the old deployment broke in ways no test saw (an image older than the code's Python, a
manifest folder hidden by .gitignore, a variable the code never read). Every manifest is rendered
the way kustomize renders it, validated against the Kubernetes 1.34 schemas, and held to the
project's rules. Each rule is a function returning the problems it finds, so a test can also show
that the rule notices a broken manifest (a rule that never fires proves nothing).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import stat
import subprocess
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import jsonpatch
import kubernetes_validate
import pytest
import yaml
from docker.utils.build import exclude_paths
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from honeydue.settings import Settings, load_settings

pytestmark = pytest.mark.static

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy-k3s"
BASE = DEPLOY / "manifests"
OVERLAY = DEPLOY / "overlays" / "example"
SECRET_TEMPLATE = BASE / "secret" / "secret.template.yaml"
K8S_VERSION = "1.34"

Obj = dict[str, Any]

# Paths the app serves for probes: /healthz and /readyz (honeydue.health), /metrics (metrics).
PROBE_PATHS = {"/healthz", "/readyz", "/metrics"}
# Containers that have no port and so no probes, with the reason (also in their manifests):
# the scheduler's health is its Redis leader lock; the migrate Job runs to completion.
NO_PROBES = {"scheduler", "migrate"}
# Kinds that are CRDs: no schema ships for them, their structure is checked by hand.
CRD_KINDS = {("helm.cattle.io/v1", "HelmChartConfig")}
PHASES = {"base", "migrate", "rollout"}
PHASE_LABEL = "honeydue/deploy-phase"


# --- a small kustomize: resources + JSON6902 patches, nothing else ---------------------------------

SUPPORTED_KUSTOMIZATION_KEYS = {"apiVersion", "kind", "resources", "patches"}


def render(directory: Path) -> list[Obj]:
    """Render a kustomization as kustomize does for the features we use; refuse any other.

    Refusing unknown keys keeps the manifests simple enough for this renderer to be trusted (and
    the kubectl comparison test checks it agrees with kustomize itself).
    """
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED_KUSTOMIZATION_KEYS
    if unknown:
        raise ValueError(f"{directory}: kustomization uses {sorted(unknown)}; extend render() first")
    objects: list[Obj] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            objects.extend(render(path))
        else:
            objects.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path", "target"}:
            raise ValueError(f"{directory}: only file JSON6902 patches with a target are supported")
        ops = yaml.safe_load((directory / patch["path"]).read_text())
        matched = [o for o in objects if _matches(o, patch["target"])]
        if not matched:
            raise ValueError(f"{directory}: patch {patch['path']} matches no object")
        for obj in matched:
            objects[objects.index(obj)] = jsonpatch.apply_patch(obj, ops)
    return objects


def _matches(obj: Obj, target: dict[str, str]) -> bool:
    group, _, version = obj["apiVersion"].rpartition("/")
    actual = {"group": group, "version": version, "kind": obj["kind"], "name": obj["metadata"]["name"],
              "namespace": obj["metadata"].get("namespace", "")}
    return all(actual[key] == value for key, value in target.items())


def load_secret_template() -> Obj:
    return yaml.safe_load(SECRET_TEMPLATE.read_text())


RENDERED = {"base": render(BASE), "overlay": render(OVERLAY)}


def _id(obj: Obj) -> str:
    return f"{obj['kind']}/{obj['metadata'].get('namespace', '-')}/{obj['metadata']['name']}"


def _workloads(objects: list[Obj]) -> list[Obj]:
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet")]


def _containers(workload: Obj) -> list[Obj]:
    spec = workload["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def _find(objects: list[Obj], kind: str, name: str) -> Obj | None:
    return next((o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name), None)


# --- rules: each returns a list of problems -------------------------------------------------------

def container_problems(workload: Obj) -> list[str]:
    """Probes, resources and a locked-down security context for every container."""
    problems: list[str] = []
    pod = workload["spec"]["template"]["spec"]
    pod_sc = pod.get("securityContext", {})
    for c in _containers(workload):
        where = f"{_id(workload)} container {c['name']}"
        sc = c.get("securityContext", {})
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
            problems.append(f"{where}: runAsNonRoot is not true")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) in (None, 0):
            problems.append(f"{where}: runs as root (runAsUser unset or 0)")
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            problems.append(f"{where}: capabilities do not drop ALL")
        resources = c.get("resources", {})
        for part in ("requests", "limits"):
            for res in ("cpu", "memory") if part == "requests" else ("memory",):
                if res not in resources.get(part, {}):
                    problems.append(f"{where}: no resources.{part}.{res}")
        problems.extend(probe_problems(workload, c))
    return problems


def probe_problems(workload: Obj, container: Obj) -> list[str]:
    where = f"{_id(workload)} container {container['name']}"
    probes = {k: container[k] for k in ("startupProbe", "livenessProbe", "readinessProbe") if k in container}
    if container["name"] in NO_PROBES:
        return [f"{where}: has probes but is listed in NO_PROBES"] if probes else []
    problems = [f"{where}: no {k}" for k in ("livenessProbe", "readinessProbe") if k not in probes]
    port_names = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    port_numbers = set(port_names.values())
    for kind, probe in probes.items():
        http = probe.get("httpGet")
        if http is None:
            if not (probe.get("exec") or probe.get("tcpSocket") or probe.get("grpc")):
                problems.append(f"{where}: {kind} has no handler")
            continue
        if http.get("path") not in PROBE_PATHS:
            problems.append(f"{where}: {kind} path {http.get('path')!r} is not one of {sorted(PROBE_PATHS)}")
        port = http.get("port")
        if port not in port_names and port not in port_numbers:
            problems.append(f"{where}: {kind} port {port!r} is not a container port")
    return problems


def reference_problems(objects: list[Obj], secret_template: Obj) -> list[str]:
    """envFrom and keyRefs name objects (and keys) that exist; the Secret's are in its template."""
    problems: list[str] = []
    config_maps = {o["metadata"]["name"]: o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"}
    secrets = {o["metadata"]["name"]: {**o.get("data", {}), **o.get("stringData", {})}
               for o in [*objects, secret_template] if o["kind"] == "Secret"}
    for workload in _workloads(objects):
        for c in _containers(workload):
            where = f"{_id(workload)} container {c['name']}"
            for source in c.get("envFrom", []):
                for ref, known in (("configMapRef", config_maps), ("secretRef", secrets)):
                    if ref in source and source[ref]["name"] not in known:
                        problems.append(f"{where}: envFrom {ref} {source[ref]['name']!r} does not exist")
            for env in c.get("env", []):
                value_from = env.get("valueFrom", {})
                for ref, known in (("configMapKeyRef", config_maps), ("secretKeyRef", secrets)):
                    if ref in value_from:
                        name, key = value_from[ref]["name"], value_from[ref]["key"]
                        if key not in known.get(name, {}):
                            problems.append(f"{where}: {ref} {name}/{key} does not exist")
    return problems


def env_names(objects: list[Obj], secret_template: Obj) -> set[str]:
    """Every variable the manifests put in honeydue's environment."""
    names: set[str] = set()
    config_maps = {o["metadata"]["name"]: o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"}
    secret_keys = set(secret_template.get("stringData", {})) | set(secret_template.get("data", {}))
    for workload in _workloads(objects):
        for c in _containers(workload):
            if not c["image"].startswith("honeydue"):
                continue
            names.update(e["name"] for e in c.get("env", []))
            for source in c.get("envFrom", []):
                if "configMapRef" in source:
                    names.update(config_maps.get(source["configMapRef"]["name"], {}))
                if "secretRef" in source and source["secretRef"]["name"] == secret_template["metadata"]["name"]:
                    names.update(secret_keys)
    return names


def unknown_env_problems(names: set[str]) -> list[str]:
    known = {field.upper() for field in Settings.model_fields} | {"STORAGE_USE_SSL"}
    return [f"{name} is not a honeydue setting" for name in sorted(names - known)]


def ingress_problems(objects: list[Obj]) -> list[str]:
    """Every Ingress backend is a Service with that port, and the Service reaches a named pod port."""
    problems: list[str] = []
    for ingress in (o for o in objects if o["kind"] == "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = _find(objects, "Service", backend["name"])
                if service is None:
                    problems.append(f"{_id(ingress)} {path['path']}: no Service {backend['name']!r}")
                    continue
                port = backend["port"]
                ports = service["spec"]["ports"]
                if not any(p.get("name") == port.get("name") or p["port"] == port.get("number") for p in ports):
                    problems.append(f"{_id(ingress)} {path['path']}: Service {backend['name']} has no port {port}")
    for service in (o for o in objects if o["kind"] == "Service"):
        selector = service["spec"].get("selector", {})
        pods = [w for w in _workloads(objects)
                if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()]
        if not pods:
            problems.append(f"{_id(service)}: selector matches no workload")
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            exposed = {p.get("name") for w in pods for c in _containers(w) for p in c.get("ports", [])}
            exposed |= {p["containerPort"] for w in pods for c in _containers(w) for p in c.get("ports", [])}
            if pods and target not in exposed:
                problems.append(f"{_id(service)}: targetPort {target!r} is no container port of its pods")
    return problems


def pdb_problems(objects: list[Obj]) -> list[str]:
    """Each budget selects a workload and always lets at least one of its pods go (drains proceed)."""
    problems: list[str] = []
    for pdb in (o for o in objects if o["kind"] == "PodDisruptionBudget"):
        selector = pdb["spec"]["selector"]["matchLabels"]
        selected = [w for w in _workloads(objects)
                    if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()]
        if len(selected) != 1:
            problems.append(f"{_id(pdb)}: selects {len(selected)} workloads, expected 1")
            continue
        replicas = selected[0]["spec"].get("replicas", 1)
        spec = pdb["spec"]
        if "maxUnavailable" in spec:
            if not (isinstance(spec["maxUnavailable"], int) and spec["maxUnavailable"] >= 1):
                problems.append(f"{_id(pdb)}: maxUnavailable must be an integer >= 1")
        elif "minAvailable" in spec:
            if not (isinstance(spec["minAvailable"], int) and spec["minAvailable"] < replicas):
                problems.append(f"{_id(pdb)}: minAvailable must be an integer below replicas ({replicas})")
        else:
            problems.append(f"{_id(pdb)}: neither maxUnavailable nor minAvailable")
    return problems


# --- schema validation -----------------------------------------------------------------------------

def _all_objects() -> list[tuple[str, Obj]]:
    out = [(f"{name}:{_id(o)}", o) for name, objects in RENDERED.items() for o in objects]
    return [*out, (f"template:{_id(load_secret_template())}", load_secret_template())]


@pytest.mark.parametrize("obj", [o for _, o in _all_objects()], ids=[i for i, _ in _all_objects()])
def test_manifest_is_valid_kubernetes_1_34(obj: Obj) -> None:
    if (obj["apiVersion"], obj["kind"]) in CRD_KINDS:
        pytest.skip("CRD: no published schema; test_traefik_helmchartconfig checks its structure")
    validated = kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    assert validated == K8S_VERSION  # the schema set used is 1.34 itself, not an older fallback


def test_schema_validation_rejects_an_unknown_field() -> None:
    broken = copy.deepcopy(_find(RENDERED["base"], "Deployment", "api"))
    assert broken is not None
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_traefik_helmchartconfig() -> None:
    config = _find(RENDERED["base"], "HelmChartConfig", "traefik")
    assert config is not None
    assert config["apiVersion"] == "helm.cattle.io/v1"
    assert config["metadata"]["namespace"] == "kube-system"  # where k3s looks for it
    assert set(config["spec"]) == {"valuesContent"}
    values = yaml.safe_load(config["spec"]["valuesContent"])
    assert values["deployment"]["kind"] == "DaemonSet"
    assert values["hostNetwork"] is True
    # ServiceLB would bind host ports 80/443 too: the chart's Service must not be a LoadBalancer.
    assert values["service"]["type"] == "ClusterIP"
    assert values["ports"]["web"]["port"] == 80
    # Cloudflare flexible SSL talks HTTP to us: an HTTP->HTTPS redirect would loop.
    assert "redirections" not in values["ports"]["web"] and "redirectTo" not in values["ports"]["web"]
    assert values["updateStrategy"]["rollingUpdate"]["maxSurge"] == 0
    assert values["securityContext"]["capabilities"]["add"] == ["NET_BIND_SERVICE"]
    assert values["securityContext"]["capabilities"]["drop"] == ["ALL"]


# --- project rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", sorted(RENDERED))
def test_containers_have_probes_resources_and_locked_down_security(variant: str) -> None:
    problems = [p for w in _workloads(RENDERED[variant]) for p in container_problems(w)]
    assert problems == []


def test_container_rules_notice_a_broken_manifest() -> None:
    api = copy.deepcopy(_find(RENDERED["base"], "Deployment", "api"))
    assert api is not None and container_problems(api) == []
    container = api["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["readOnlyRootFilesystem"] = False
    container["livenessProbe"]["httpGet"]["path"] = "/health"
    del container["readinessProbe"]
    del container["resources"]["limits"]
    problems = "\n".join(container_problems(api))
    for expected in ("readOnlyRootFilesystem", "'/health'", "no readinessProbe", "resources.limits.memory"):
        assert expected in problems


def test_probe_paths_are_served_by_the_app() -> None:
    from honeydue.health import health_routes

    served = {route.path for route in health_routes(needs_redis=True)}
    assert {"/healthz", "/readyz"} <= served
    used = {probe["httpGet"]["path"] for w in _workloads(RENDERED["base"]) for c in _containers(w)
            for key in ("startupProbe", "livenessProbe", "readinessProbe")
            if "httpGet" in (probe := c.get(key, {}))}
    assert used <= PROBE_PATHS
    api = _find(RENDERED["base"], "Deployment", "api")
    assert api is not None
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_the_worker_probe_asks_for_its_heartbeat_and_its_grace_period_covers_its_stop() -> None:
    """/metrics answered 200 for a SIGSTOPped worker: liveness asks /healthz, which reads the heartbeats
    (served on the metrics port by workers.http_endpoints, exercised in tests/test_worker_lifecycle.py)."""
    from workers.lifecycle import GRACE_SECONDS, HARD_STOP_SECONDS

    worker = _find(RENDERED["base"], "Deployment", "worker")
    assert worker is not None
    pod = worker["spec"]["template"]["spec"]
    container = pod["containers"][0]
    for probe in ("startupProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "metrics"}, probe
    assert HARD_STOP_SECONDS < GRACE_SECONDS <= pod["terminationGracePeriodSeconds"]


@pytest.mark.parametrize("variant", sorted(RENDERED))
def test_env_references_name_existing_objects(variant: str) -> None:
    assert reference_problems(RENDERED[variant], load_secret_template()) == []


def test_reference_rule_notices_a_missing_config_map() -> None:
    objects = [o for o in RENDERED["base"] if o["kind"] != "ConfigMap"]
    assert any("honeydue-config" in p for p in reference_problems(objects, load_secret_template()))


@pytest.mark.parametrize("variant", sorted(RENDERED))
def test_every_env_variable_is_a_setting(variant: str) -> None:
    names = env_names(RENDERED[variant], load_secret_template())
    assert {"DATABASE_URL", "MEDIA_SIGNING_KEY", "B2_KEY_ID", "B2_APP_KEY", "REDIS_URL"} <= names
    assert unknown_env_problems(names) == []
    assert unknown_env_problems({"STORAGE_BUCKET"}) == ["STORAGE_BUCKET is not a honeydue setting"]


def test_secret_template_holds_keys_but_no_values_and_is_not_applied() -> None:
    template = load_secret_template()
    assert set(template["stringData"]) >= {"B2_KEY_ID", "B2_APP_KEY", "DATABASE_URL", "MEDIA_SIGNING_KEY",
                                           "SMTP_PASSWORD"}
    assert all(value == "" for value in template["stringData"].values())
    assert "data" not in template
    # Applying it would blank the real Secret: it must not be a kustomize resource.
    assert all(o["kind"] != "Secret" for variant in RENDERED.values() for o in variant)


@pytest.mark.parametrize("variant", sorted(RENDERED))
def test_config_map_is_a_valid_production_configuration(variant: str) -> None:
    """The ConfigMap plus a filled-in Secret must pass honeydue's own start-up validation."""
    config = _find(RENDERED[variant], "ConfigMap", "honeydue-config")
    assert config is not None
    secrets = {key: "x" for key in load_secret_template()["stringData"]}
    secrets |= {"DATABASE_URL": "postgres://honeydue:pw@db.example:5432/honeydue",
                "MEDIA_SIGNING_KEY_PREVIOUS": ""}
    settings = load_settings({**config["data"], **secrets})
    assert settings.honeydue_env == "production"
    assert settings.is_postgres and settings.uses_s3 and settings.b2_use_ssl
    assert settings.redis_url == "redis://redis:6379/0"
    # Nothing may be written outside /tmp: the root filesystem is read-only.
    assert settings.honeydue_var_dir.is_relative_to("/tmp")


def test_writable_paths_are_under_tmp_only() -> None:
    for workload in _workloads(RENDERED["base"]):
        volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"].get("volumes", [])}
        for c in _containers(workload):
            for mount in c.get("volumeMounts", []):
                if c["name"] == "redis" and mount["mountPath"] == "/data":
                    continue  # Redis' append-only file lives on its volume claim
                assert mount["mountPath"] == "/tmp", f"{_id(workload)} mounts {mount['mountPath']}"
                assert "emptyDir" in volumes[mount["name"]]


@pytest.mark.parametrize("variant", sorted(RENDERED))
def test_ingress_backends_and_services_resolve(variant: str) -> None:
    assert ingress_problems(RENDERED[variant]) == []


def test_ingress_routes_the_public_paths() -> None:
    ingress = _find(RENDERED["base"], "Ingress", "honeydue")
    assert ingress is not None
    routes = {p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert routes == {"/graphql": "api", "/static/graphiql": "api", "/account": "api", "/actions": "api",
                      "/calendar": "api", "/email": "api", "/admin": "api", "/media": "gateway"}
    assert "tls" not in ingress["spec"]  # Cloudflare terminates TLS (flexible SSL)
    from honeydue.graphiql import STATIC_URL_PATH
    from honeydue.mail.delivery import UNSUBSCRIBE_PATH
    from honeydue.notification_actions import ACTIONS_PATH

    assert STATIC_URL_PATH == "/static/graphiql"
    from honeydue.admin_console import PAGE_PATH
    from honeydue.admin_console import STATIC_URL_PATH as ADMIN_STATIC

    assert PAGE_PATH == "/admin" and ADMIN_STATIC.startswith("/admin/")  # the console and its files reach the api
    assert UNSUBSCRIBE_PATH.startswith("/email/")  # emailed unsubscribe links reach the api
    assert ACTIONS_PATH == "/actions"  # a reminder's Done and Snooze links reach the api


def test_ingress_rule_notices_a_wrong_port() -> None:
    objects = copy.deepcopy(RENDERED["base"])
    ingress = _find(objects, "Ingress", "honeydue")
    assert ingress is not None
    ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"] = {"name": "grpc"}
    assert any("has no port" in p for p in ingress_problems(objects))


@pytest.mark.parametrize("variant", sorted(RENDERED))
def test_pdbs_never_block_a_drain(variant: str) -> None:
    objects = RENDERED[variant]
    assert pdb_problems(objects) == []
    budgets = {o["metadata"]["name"] for o in objects if o["kind"] == "PodDisruptionBudget"}
    multi = {o["metadata"]["name"] for o in objects if o["kind"] == "Deployment" and o["spec"]["replicas"] > 1}
    assert multi <= budgets


def test_pdb_rule_notices_a_blocking_budget() -> None:
    objects = copy.deepcopy(RENDERED["base"])
    pdb = _find(objects, "PodDisruptionBudget", "scheduler")
    assert pdb is not None
    pdb["spec"] = {"minAvailable": 2, "selector": pdb["spec"]["selector"]}
    assert any("minAvailable" in p for p in pdb_problems(objects))


def test_replicas_and_commands() -> None:
    objects = RENDERED["base"]
    expected = {"api": (3, ["api", "--host", "0.0.0.0", "--port", "8000"]),
                "gateway": (2, ["gateway", "--host", "0.0.0.0", "--port", "8001"]),
                "worker": (2, ["worker", "--metrics-port", "9300"]),
                "scheduler": (2, ["scheduler"])}
    for name, (replicas, args) in expected.items():
        deployment = _find(objects, "Deployment", name)
        assert deployment is not None
        assert deployment["spec"]["replicas"] == replicas
        assert deployment["spec"]["template"]["spec"]["containers"][0]["args"] == args
    job = _find(objects, "Job", "migrate")
    assert job is not None and job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]


def test_every_object_has_a_deploy_phase() -> None:
    """deploy.sh applies by phase: shared objects, then the migrate Job, then the Deployments."""
    for obj in RENDERED["overlay"]:
        phase = obj["metadata"].get("labels", {}).get(PHASE_LABEL)
        want = {"Deployment": "rollout", "Job": "migrate"}.get(obj["kind"], "base")
        assert phase == want, f"{_id(obj)} has {PHASE_LABEL}={phase!r}, expected {want!r}"


def test_overlay_changes_what_it_says() -> None:
    ingress = _find(RENDERED["overlay"], "Ingress", "honeydue")
    config = _find(RENDERED["overlay"], "ConfigMap", "honeydue-config")
    gateway = _find(RENDERED["overlay"], "Deployment", "gateway")
    assert ingress and config and gateway
    assert ingress["spec"]["rules"][0]["host"] == "honeydue.example.org"
    assert config["data"]["PUBLIC_GATEWAY_URL"] == config["data"]["PUBLIC_APP_URL"] == "https://honeydue.example.org"
    assert gateway["spec"]["replicas"] == 3
    assert len(RENDERED["overlay"]) == len(RENDERED["base"])


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with built-in kustomize) not installed")
@pytest.mark.parametrize("directory", [BASE, OVERLAY], ids=["base", "overlay"])
def test_renderer_agrees_with_kustomize(directory: Path) -> None:
    out = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=True)
    theirs = sorted((d for d in yaml.safe_load_all(out.stdout) if d), key=_id)
    assert theirs == sorted(render(directory), key=_id)


# --- Dockerfile and .dockerignore ------------------------------------------------------------------

def dockerfile_stages(text: str) -> list[tuple[str, str, list[str]]]:
    """(image, stage name, instruction lines) per FROM, with line continuations joined."""
    lines = re.sub(r"\\\n", " ", text).splitlines()
    stages: list[tuple[str, str, list[str]]] = []
    for line in (ln.strip() for ln in lines):
        if not line or line.startswith("#"):
            continue
        if m := re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I):
            stages.append((m.group(1), m.group(2) or "", []))
        elif stages:
            stages[-1][2].append(line)
    return stages


def test_dockerfile_python_satisfies_requires_python() -> None:
    requires = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    stages = dockerfile_stages((ROOT / "Dockerfile").read_text())
    versions = {m.group(1) for image, _, _ in stages if (m := re.match(r"python:(\d+\.\d+)", image))}
    assert versions, "no python:X.Y base image found"
    assert len(versions) == 1, f"build and runtime stages disagree: {versions}"  # the venv is copied across
    version = Version(versions.pop())
    assert version in requires, f"base image Python {version} does not satisfy requires-python {requires}"


def test_dockerfile_final_stage_is_slim_non_root_and_node_free() -> None:
    stages = dockerfile_stages((ROOT / "Dockerfile").read_text())
    image, _, final = stages[-1]
    assert image.startswith("python:") and "slim" in image
    user = [ln.split()[1] for ln in final if ln.upper().startswith("USER ")]
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert user[-1].split(":")[0].isdigit()  # numeric, so runAsNonRoot can verify it
    assert any(ln == 'ENTRYPOINT ["honeydue"]' for ln in final)
    assert not any("node" in ln or "npm" in ln for ln in final)
    build = next(lines for _, name, lines in stages if name == "build")
    # The locked, hash-checked dependencies first, then honeydue without resolving again (tests/test_lock.py).
    installs = [ln for ln in build if ln.startswith("RUN pip install")]
    assert installs == ["RUN pip install --require-hashes --no-deps -r requirements.lock",
                        "RUN pip install --no-deps ."]
    assert any("--from=graphiql" in ln and "honeydue/static/graphiql/vendor" in ln for ln in build)
    graphiql = next(lines for _, name, lines in stages if name == "graphiql")
    assert any("scripts/fetch-graphiql-assets" in ln for ln in graphiql)
    assert any("scripts/fetch-admin-assets" in ln for ln in graphiql)  # the admin console's libraries too
    assert any("--from=graphiql" in ln and "honeydue/static/admin/vendor" in ln for ln in build)
    # The manifests run as this user: they must agree.
    deployment = _find(RENDERED["base"], "Deployment", "api")
    assert deployment is not None
    assert str(deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"]) == user[-1].split(":")[0]


def docker_context(root: Path) -> set[str]:
    """The files `docker build` would send, by Docker's own .dockerignore rules (docker-py)."""
    patterns = (root / ".dockerignore").read_text().splitlines()
    return {p for p in exclude_paths(str(root), patterns) if (root / p).is_file()}


def test_dockerignore_keeps_what_the_build_needs_and_drops_the_rest() -> None:
    context = docker_context(ROOT)
    needed = {"pyproject.toml", "honeydue/__init__.py", "honeydue/cli.py", "honeydue/settings.py",
              "scripts/fetch-graphiql-assets", "scripts/graphiql/package-lock.json",
              "scripts/graphiql/package.json", "scripts/fetch-admin-assets", "scripts/admin/package-lock.json",
              "scripts/admin/package.json", "honeydue/static/admin/app.js", "honeydue/static/admin/app.css"}
    readme = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("readme")
    if readme:
        needed.add(readme)
    assert needed <= context, f"missing from the build context: {sorted(needed - context)}"
    for path in context:
        assert not path.startswith((".git/", "tests/", "deploy-k3s/", "var/")), path
        assert "/node_modules/" not in path and "__pycache__" not in path, path
        assert not path.startswith("honeydue/static/graphiql/vendor/"), path  # fetched in the build
        assert not path.startswith("honeydue/static/admin/vendor/"), path
        assert not path.endswith(".env"), path


# --- deploy.sh -------------------------------------------------------------------------------------

DEPLOY_SH = DEPLOY / "deploy.sh"


def test_deploy_script_is_strict_bash() -> None:
    text = DEPLOY_SH.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert os.access(DEPLOY_SH, os.X_OK)
    subprocess.run(["bash", "-n", str(DEPLOY_SH)], check=True)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed (apt-get install shellcheck)")
def test_deploy_script_passes_shellcheck() -> None:
    result = subprocess.run(["shellcheck", "--severity=style", str(DEPLOY_SH)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


FAKE_TOOL = textwrap.dedent("""\
    #!/usr/bin/env bash
    # Records each call; answers the few queries deploy.sh makes of a cluster.
    set -euo pipefail
    echo "$(basename "$0") $*" >> "$FAKE_LOG"
    if [[ "$(basename "$0")" == kubectl ]]; then
        case " $* " in
            *" kustomize "*) cat "${@: -1}/kustomization.yaml"; echo "---"; echo "kind: Rendered" ;;
            *" get secret "*)
                [[ "${FAKE_SECRET:-yes}" == yes ]] || exit 1
                if [[ -n "${FAKE_SECRET_ENV:-}" ]]; then
                    # deploy.sh's own output template, run by the real kubectl on a Secret rendered locally.
                    "$REAL_KUBECTL" create secret generic s --from-env-file="$FAKE_SECRET_ENV" --dry-run=client \
                        -o "${@: -1}"
                else
                    printf '%s\\n' DATABASE_URL MEDIA_SIGNING_KEY B2_KEY_ID B2_APP_KEY
                fi ;;
            *" get job migrate "*) echo "${FAKE_JOB_STATE:-Complete }" ;;
            *" get deployments "*) printf 'deployment.apps/api\\ndeployment.apps/worker\\n' ;;
        esac
    fi
    """)


def _run_deploy(tmp_path: Path, *args: str, overlay: Path | None = OVERLAY,
                **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("kubectl", "docker"):
        path = bin_dir / tool
        path.write_text(FAKE_TOOL)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.log"
    log.write_text("")
    full_env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(log), "HOME": str(tmp_path),
                "TMPDIR": str(tmp_path), **env}
    overlay_args = ["--overlay", str(overlay)] if overlay is not None else []
    result = subprocess.run(["bash", str(DEPLOY_SH), *args, *overlay_args], capture_output=True, text=True,
                            env=full_env, timeout=60)
    return result, log.read_text().splitlines()


def test_deploy_builds_for_amd64_then_migrates_before_rolling_out(tmp_path: Path) -> None:
    # No --context: kubectl runs with an empty argument array, which must not trip `set -u`.
    result, calls = _run_deploy(tmp_path, "--image", "registry.example/honeydue", "--tag", "abc123")
    assert result.returncode == 0, result.stderr
    assert calls[0].startswith("kubectl kustomize ")
    assert calls[1].startswith("kubectl -n honeydue get secret honeydue-secrets ")
    build = calls[2]
    assert build.startswith("docker buildx build --platform linux/amd64 ")
    assert "--tag registry.example/honeydue:abc123 --push" in build
    order = [c for c in calls if c.startswith("kubectl") and (" apply " in c or " rollout " in c)]
    assert len(order) == 5, calls
    assert [re.search(rf" -l {PHASE_LABEL}=(\S+)", c)[1] for c in order[:3]] == ["base", "migrate", "rollout"]
    assert all(c.startswith("kubectl apply -f ") for c in order[:3])
    assert order[3:] == ["kubectl -n honeydue rollout status deployment.apps/api --timeout=600s",
                         "kubectl -n honeydue rollout status deployment.apps/worker --timeout=600s"]
    delete_job = calls.index("kubectl -n honeydue delete job migrate --ignore-not-found --wait=true")
    wait_job = next(i for i, c in enumerate(calls) if c.startswith("kubectl -n honeydue get job migrate"))
    assert calls.index(order[0]) < delete_job < calls.index(order[1]) < wait_job < calls.index(order[2])
    # The release layer beside the overlay is removed when the script ends.
    assert not list(OVERLAY.parent.glob(".release.*"))


def test_the_bucket_region_is_the_buckets_and_the_endpoints() -> None:
    """honeyDueProd is in us-east-005; the ConfigMap said us-west-004 (every signed request would fail)."""
    config = _find(RENDERED["base"], "ConfigMap", "honeydue-config")
    assert config is not None
    data = config["data"]
    assert data["B2_BUCKET_NAME"] == "honeyDueProd"
    assert data["B2_REGION"] == "us-east-005"
    assert data["B2_ENDPOINT"] == f"https://s3.{data['B2_REGION']}.backblazeb2.com"


def _bytes(quantity: str) -> int:
    """A Kubernetes quantity (512Mi) or a Redis size (200mb, which Redis reads as MiB) in bytes."""
    number, unit = re.fullmatch(r"(\d+)([A-Za-z]*)", quantity).groups()  # type: ignore[union-attr]
    scale = {"": 1, "ki": 1024, "kb": 1024, "mi": 1024**2, "mb": 1024**2, "gi": 1024**3, "gb": 1024**3}
    return int(number) * scale[unit.lower()]


def test_redis_maxmemory_leaves_room_for_an_aof_rewrite_fork() -> None:
    """The rewrite's forked child shares the dataset copy-on-write and can come to copy all of it: the container
    limit must hold twice maxmemory plus Redis's own overhead, or a rewrite under load is OOM-killed."""
    redis_set = _find(RENDERED["base"], "StatefulSet", "redis")
    assert redis_set is not None
    container = redis_set["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    maxmemory = _bytes(args[args.index("--maxmemory") + 1])
    limit = _bytes(container["resources"]["limits"]["memory"])
    overhead = 64 * 1024**2
    assert 2 * maxmemory + overhead <= limit, (maxmemory, limit)


def test_deploy_requires_an_overlay(tmp_path: Path) -> None:
    """Without --overlay it used to deploy overlays/example (its host and bucket are placeholders)."""
    result, calls = _run_deploy(tmp_path, "--image", "registry.example/honeydue", "--tag", "abc123", overlay=None)
    assert result.returncode == 1
    assert "--overlay (or HONEYDUE_OVERLAY) is required" in result.stderr
    assert calls == []  # nothing rendered, built or applied
    result, calls = _run_deploy(tmp_path, "--image", "r/h", "--tag", "t", overlay=None, HONEYDUE_OVERLAY=str(OVERLAY))
    assert result.returncode == 0, result.stderr


def test_deploy_prunes_what_the_manifests_no_longer_contain_by_label(tmp_path: Path) -> None:
    result, calls = _run_deploy(tmp_path, "--image", "registry.example/honeydue", "--tag", "abc123")
    assert result.returncode == 0, result.stderr
    applies = [c for c in calls if c.startswith("kubectl apply ")]
    assert len(applies) == 3
    kinds_in_manifests = {f"{o['apiVersion'] if '/' in o['apiVersion'] else 'core/' + o['apiVersion']}/{o['kind']}"
                          for o in RENDERED["base"]}
    for call in applies:
        assert " --prune " in call and re.search(rf" -l {PHASE_LABEL}=\S+", call), call
        allowed = set(re.findall(r"--prune-allowlist=(\S+)", call))
        # Every kind the manifests hold can be pruned, except the namespace; never the hand-made Secret or
        # the StatefulSet's volume claims (kubectl's default list would include both).
        assert allowed == kinds_in_manifests - {"core/v1/Namespace"}, allowed ^ kinds_in_manifests
        assert not {"core/v1/Secret", "core/v1/PersistentVolumeClaim", "core/v1/Namespace"} & allowed


def test_deploy_pins_the_image_on_the_overlay(tmp_path: Path) -> None:
    result, _ = _run_deploy(tmp_path, "--image", "registry.example/honeydue", "--tag", "abc123", "--dry-run")
    assert result.returncode == 0, result.stderr
    release = yaml.safe_load(result.stdout.split("---")[0])
    assert release["resources"] == ["../example"]
    assert release["images"] == [{"name": "honeydue", "newName": "registry.example/honeydue", "newTag": "abc123"}]


def test_deploy_stops_before_rollout_when_migration_fails(tmp_path: Path) -> None:
    result, calls = _run_deploy(tmp_path, "--image", "r/h", "--tag", "t", "--context", "prod",
                                FAKE_JOB_STATE="Failed ")
    assert result.returncode == 1
    assert "migration failed" in result.stderr
    assert all(c.startswith("kubectl --context prod") for c in calls if c.startswith("kubectl"))
    assert not any(f"{PHASE_LABEL}=rollout" in c for c in calls)


def test_deploy_refuses_without_the_secret(tmp_path: Path) -> None:
    result, calls = _run_deploy(tmp_path, "--image", "r/h", "--tag", "t", "--skip-build", FAKE_SECRET="no")
    assert result.returncode == 1
    assert "honeydue-secrets is missing" in result.stderr
    assert not any(c.startswith("docker") for c in calls)
    assert not any(" apply " in c for c in calls)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_deploy_refuses_empty_secret_values_before_building(tmp_path: Path) -> None:
    """A Secret made from a half-filled env file: refused before the image is built, naming the empty keys."""
    env_file = tmp_path / "honeydue-secrets.env"
    env_file.write_text("DATABASE_URL=postgres://honeydue:pw@db.example:5432/honeydue\nMEDIA_SIGNING_KEY=\n"
                        "B2_KEY_ID=key-id\nB2_APP_KEY=\nSMTP_PASSWORD=\n")
    result, calls = _run_deploy(tmp_path, "--image", "r/h", "--tag", "t", FAKE_SECRET_ENV=str(env_file),
                                REAL_KUBECTL=str(shutil.which("kubectl")))
    assert result.returncode == 1
    assert "honeydue-secrets has no value for MEDIA_SIGNING_KEY B2_APP_KEY" in result.stderr
    assert not any(c.startswith("docker") for c in calls)
    assert not any(" apply " in c or " delete " in c for c in calls)

    env_file.write_text(env_file.read_text().replace("MEDIA_SIGNING_KEY=", "MEDIA_SIGNING_KEY=k")
                        .replace("B2_APP_KEY=", "B2_APP_KEY=s"))
    result, calls = _run_deploy(tmp_path, "--image", "r/h", "--tag", "t", FAKE_SECRET_ENV=str(env_file),
                                REAL_KUBECTL=str(shutil.which("kubectl")))
    assert result.returncode == 0, result.stderr
    assert any(c.startswith("docker buildx build") for c in calls)


# --- operator docs ---------------------------------------------------------------------------------

DOCS = ROOT / "docs"
DOC_FILES = sorted(DOCS.glob("*.md")) + [DEPLOY / "README.md"]
CONTRACT_METRICS = (
    "honeydue_http_requests_total", "honeydue_http_request_duration_seconds",
    "honeydue_graphql_operations_total", "honeydue_gateway_bytes_streamed_total",
    "honeydue_gateway_upstream_errors_total", "honeydue_jobs_total", "honeydue_job_duration_seconds",
)


def test_configuration_reference_lists_every_setting() -> None:
    text = (DOCS / "configuration.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)`", text, re.M))
    expected = {field.upper() for field in Settings.model_fields} | {"STORAGE_USE_SSL"}
    assert sorted(expected - documented) == [], "settings missing from docs/configuration.md"
    assert sorted(documented - expected) == [], "docs/configuration.md documents variables the code lacks"


def test_metrics_doc_names_every_metric() -> None:
    text = (DOCS / "metrics.md").read_text()
    for name in CONTRACT_METRICS:
        assert f"`{name}`" in text, name
    used = set(re.findall(r"\bhoneydue_[a-z_]+?(?=_bucket\b|\b)", text))
    assert used <= set(CONTRACT_METRICS), f"alerts use metrics that do not exist: {used - set(CONTRACT_METRICS)}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_doc_links_resolve(doc: Path) -> None:
    text = doc.read_text()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://")):
            continue
        path_part, _, anchor = target.partition("#")
        linked = (doc.parent / path_part).resolve() if path_part else doc
        assert linked.exists(), f"{doc.name}: broken link {target}"
        if anchor and linked.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", linked.read_text(), re.M)
            assert anchor in {_slug(h) for h in headings}, f"{doc.name}: no heading for #{anchor}"


def test_docs_name_only_manifest_paths_that_exist() -> None:
    own_overlay = re.compile(r"deploy-k3s/overlays/(?!example\b)")  # the operator's copy, e.g. overlays/prod
    for doc in DOC_FILES:
        for rel in re.findall(r"`(deploy-k3s/[\w./-]+)`", doc.read_text()):
            if not own_overlay.match(rel):
                assert (ROOT / rel.rstrip("/")).exists(), f"{doc.name} names missing {rel}"
