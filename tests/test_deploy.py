"""deploy/: Kubernetes manifests checked without a cluster (kubernetes-validate's schemas, strict) and
against the scale profile they deploy."""
from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = sorted((ROOT / "deploy").glob("*.yml"))
K8S_VERSION = "1.28.0"


def documents():
    return [(path.name, doc) for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


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
