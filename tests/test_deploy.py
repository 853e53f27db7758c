"""deploy/: Kubernetes manifests checked without a cluster (kubernetes-validate's schemas, strict), against
the scale profile they deploy and for isolation; and the image's build context (.dockerignore)."""
from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = sorted((ROOT / "deploy").glob("*.yml"))  # what `kubectl apply -f deploy/` applies
EXAMPLES = sorted((ROOT / "deploy" / "examples").glob("*.yml"))
K8S_VERSION = "1.28.0"


def documents(paths=(*MANIFESTS, *EXAMPLES)):
    return [(path.name, doc) for path in paths for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(kind):
    return {doc["metadata"]["name"]: doc for _, doc in documents() if doc["kind"] == kind}


@pytest.mark.parametrize("name,doc", documents(), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_manifest_matches_the_kubernetes_schema(name, doc):
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises with the field path on error


def test_every_variable_of_the_scale_endpoints_reaches_the_rasa_pods():
    needed = set(re.findall(r"\$\{(\w+)\}", re.sub(r"#.*", "", (ROOT / "endpoints.scale.yml").read_text())))
    rasa = by_kind("Deployment")["iom-rasa"]["spec"]["template"]["spec"]["containers"][0]
    assert "endpoints.scale.yml" in rasa["args"]
    provided = set()
    for source in rasa["envFrom"]:
        if "configMapRef" in source:
            provided |= set(by_kind("ConfigMap")[source["configMapRef"]["name"]]["data"])
        if "secretRef" in source:
            provided |= set(by_kind("Secret")[source["secretRef"]["name"]]["stringData"])
    assert needed <= provided, needed - provided


def test_services_select_their_deployments_and_ingresses_route_to_a_service():
    deployments, services = by_kind("Deployment"), by_kind("Service")
    for service in services.values():
        selector = service["spec"]["selector"]
        assert any(selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
                   for d in deployments.values()), service["metadata"]["name"]
    for ingress in by_kind("Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] in services


def test_socket_io_is_sticky_and_rest_is_not():
    ingresses = by_kind("Ingress")
    paths = {p["path"]: i for i in ingresses.values() for r in i["spec"]["rules"] for p in r["http"]["paths"]}
    assert paths["/socket.io/"]["metadata"]["annotations"]["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert "nginx.ingress.kubernetes.io/affinity" not in paths["/webhooks/"]["metadata"].get("annotations", {})


def test_postgres_pool_fits_the_server_for_the_declared_replicas():
    config = by_kind("ConfigMap")["iom-assistant-config"]["data"]
    replicas = by_kind("Deployment")["iom-rasa"]["spec"]["replicas"]
    per_pod = int(config["SQL_POOL_SIZE"]) + int(config["SQL_MAX_OVERFLOW"])
    assert replicas * per_pod <= 100 - 10  # PostgreSQL's default max_connections, minus a reserve


# ---------------------------------------------------------------------------------------------- isolation

def pod_specs():
    return {name: d["spec"]["template"]["spec"] for name, d in by_kind("Deployment").items()}


def test_example_secrets_are_kept_out_of_the_applied_folder():
    assert not [doc for _, doc in documents(MANIFESTS) if doc["kind"] == "Secret"]
    assert [doc for _, doc in documents(EXAMPLES) if doc["kind"] == "Secret"]


@pytest.mark.parametrize("deployment", ["iom-rasa", "iom-actions"])
def test_pods_run_locked_down(deployment):
    spec = pod_specs()[deployment]
    assert spec["automountServiceAccountToken"] is False
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0 and pod["seccompProfile"]["type"] == "RuntimeDefault"
    for container in spec["containers"]:
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
        assert security["capabilities"]["drop"] == ["ALL"]
        image = container["image"]
        assert "@sha256:" in image or (":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest")), image
        mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
        assert "/tmp" in mounts  # the only writable place


def test_only_rasa_reaches_the_action_server():
    policies = [p for p in by_kind("NetworkPolicy").values()
                if p["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "iom-actions"}]
    [policy] = policies
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    [rule] = policy["spec"]["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "iom-rasa"}}}]
    assert rule["ports"] == [{"port": 5055, "protocol": "TCP"}]


def test_ingresses_terminate_tls():
    for ingress in by_kind("Ingress").values():
        hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
        assert ingress["spec"]["tls"] and hosts <= {h for t in ingress["spec"]["tls"] for h in t["hosts"]}
        assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"


# ---------------------------------------------------------------------------------------------- image

def dockerignore_rules():
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negated = line.startswith("!")
            pattern = line.lstrip("!").strip("/")
            regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
            rules.append((re.compile(f"^{regex}$"), negated))
    return rules


def in_build_context(path: str, rules) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    included = True
    for regex, negated in rules:
        if any(regex.match(c) for c in candidates):
            included = negated
    return included


def test_the_image_build_context_is_an_allow_list():
    rules = dockerignore_rules()
    files = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts
             and "node_modules" not in p.parts]
    context = {f for f in files if in_build_context(f, rules)}
    for needed in ("bot/server.py", "actions/actions.py", "config.yml", "domain.yml", "requirements.lock",
                   "endpoints.scale.yml", "credentials.yml", "bot/content/seed.txt", "data/rules.yml"):
        assert needed in context, needed
    leaked = [f for f in context if f.split("/")[0] in (".git", "var", "tests", "tools", "models", "deploy", ".venv",
                                                         "bench", "docs", "web", "node_modules")
              or "__pycache__" in f or f.endswith(".pyc") or "secret" in f]
    assert leaked == []
    for sensitive in (".git/config", "var/tracker.db", "var/scale/secrets.json", "tests/artifacts/servers.log",
                      ".venv/bin/python", "var/secret_key"):
        assert not in_build_context(sensitive, rules), sensitive
