"""deploy/: compose.yaml against the compose-spec schema, the Kubernetes manifests against the API's
schemas, both offline (the schemas ship inside check-jsonschema and kubernetes-validate)."""

from __future__ import annotations

import importlib.resources
import json
import re
import runpy
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.31"
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?:(:[-?])([^}]*))?\}")
ONE_SHOT = {"migrate", "livekit-config"}


def env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (DEPLOY / ".env.example").read_text().splitlines()
             if line.strip() and not line.startswith("#"))
    return {name: value for name, value in pairs}


def interpolate(text: str, environment: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error}, as `docker compose config` applies them."""

    def value(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        if environment.get(name):
            return environment[name]
        if operator == ":-":
            return argument
        raise KeyError(f"{name}: {argument}")

    return VARIABLE.sub(value, text)


def filled_example() -> dict[str, str]:
    """.env.example with every empty value filled in, as an operator would."""
    return {name: value or f"example-{name.lower().replace('_', '-')}" for name, value in env_example().items()}


def compose_document(text: str | None = None) -> dict[str, Any]:
    return yaml.safe_load(interpolate(text or (DEPLOY / "compose.yaml").read_text(), filled_example()))


def compose_validator() -> jsonschema.protocols.Validator:
    schema_file = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    return jsonschema.validators.validator_for(schema)(schema)


def test_compose_file_matches_the_compose_specification() -> None:
    errors = [f"{'/'.join(map(str, error.path))}: {error.message}"
              for error in compose_validator().iter_errors(compose_document())]
    assert errors == []


def test_the_compose_check_catches_a_misspelt_key() -> None:
    broken = (DEPLOY / "compose.yaml").read_text().replace("    restart: unless-stopped\n    networks: [internal]\n"
                                                            "    environment:\n      POSTGRES_DB",
                                                            "    restrat: unless-stopped\n    networks: [internal]\n"
                                                            "    environment:\n      POSTGRES_DB", 1)
    errors = list(compose_validator().iter_errors(compose_document(broken)))
    assert [list(error.path) for error in errors] == [["services", "postgres"]]
    assert "'restrat' was unexpected" in errors[0].message


def test_every_variable_compose_needs_is_in_the_environment_template_and_none_is_stale() -> None:
    used = {match.group(1) for match in VARIABLE.finditer((DEPLOY / "compose.yaml").read_text())}
    required = {match.group(1) for match in VARIABLE.finditer((DEPLOY / "compose.yaml").read_text())
                if match.group(2) == ":?"}
    documented = set(env_example())
    assert sorted(required - documented) == []
    assert sorted(documented - used) == []


def test_every_long_running_service_restarts_and_reports_its_health() -> None:
    services = compose_document()["services"]
    missing = {name: [key for key in ("restart", "healthcheck") if key not in service]
               for name, service in services.items() if name not in ONE_SHOT}
    assert {name: keys for name, keys in missing.items() if keys} == {}
    assert {name: services[name]["restart"] for name in ONE_SHOT} == {"migrate": "no", "livekit-config": "no"}


def test_migrations_run_as_the_owner_role_and_the_services_as_the_app_role() -> None:
    services = compose_document()["services"]
    assert "//voxbank_owner:" in services["migrate"]["environment"]["VOXBANK_DATABASE_OWNER_URL"]
    assert "//voxbank_app:" in services["migrate"]["environment"]["VOXBANK_DATABASE_URL"]  # the role it sets up
    for name in ("web", "agent", "worker-cpu", "worker-gpu", "beat"):
        assert "//voxbank_app:" in services[name]["environment"]["VOXBANK_DATABASE_URL"], name
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_the_gpu_worker_serves_only_the_gpu_queue_on_an_nvidia_device() -> None:
    worker = compose_document()["services"]["worker-gpu"]
    assert worker["command"][:3] == ["worker", "--queues", "gpu"]
    [device] = worker["deploy"]["resources"]["reservations"]["devices"]
    assert (device["driver"], device["capabilities"]) == ("nvidia", ["gpu"])
    assert worker["environment"]["VOXBANK_STT_DEVICE"] == "cuda"


def kustomization() -> dict[str, Any]:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


def k8s_resources() -> list[tuple[str, dict[str, Any]]]:
    return [(name, document) for name in kustomization()["resources"]
            for document in yaml.safe_load_all((K8S / name).read_text()) if document]


def test_the_kustomization_lists_every_manifest() -> None:
    on_disk = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization()["resources"]) == sorted(on_disk)


@pytest.mark.parametrize(("name", "document"), k8s_resources(),
                         ids=[f"{name}:{doc['kind']}/{doc['metadata']['name']}" for name, doc in k8s_resources()])
def test_each_manifest_is_valid_for_the_kubernetes_api(name: str, document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_kubernetes_check_catches_a_misspelt_field() -> None:
    [(_, web)] = [(n, d) for n, d in k8s_resources() if d["kind"] == "Deployment" and d["metadata"]["name"] == "web"]
    web["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(web, KUBERNETES_VERSION, strict=True)


def deployments() -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in k8s_resources() if doc["kind"] == "Deployment"}


def test_web_readiness_comes_from_readyz_and_every_deployment_has_a_readiness_probe() -> None:
    probes = {name: doc["spec"]["template"]["spec"]["containers"][0].get("readinessProbe")
              for name, doc in deployments().items()}
    assert [name for name, probe in probes.items() if probe is None] == []
    assert probes["web"]["httpGet"]["path"] == "/readyz"


def test_agents_and_transcription_workers_scale_on_their_own() -> None:
    scaled = {doc["spec"]["scaleTargetRef"]["name"] for _, doc in k8s_resources()
              if doc["kind"] == "HorizontalPodAutoscaler"}
    assert "agent" in scaled
    found = deployments()
    assert found["worker-gpu"]["spec"]["template"]["spec"]["containers"][0]["args"][:3] == ["worker", "--queues", "gpu"]
    gpu_limits = found["worker-gpu"]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert gpu_limits["nvidia.com/gpu"] == 1
    assert found["beat"]["spec"]["replicas"] == 1 and found["beat"]["spec"]["strategy"] == {"type": "Recreate"}


def render_template() -> Any:
    return runpy.run_path(str(DEPLOY / "render_template.py"))["render"]


def test_the_livekit_template_gets_the_turn_domain_from_the_environment() -> None:
    rendered = yaml.safe_load(render_template()((DEPLOY / "livekit.yaml").read_text(),
                                                {"LIVEKIT_TURN_DOMAIN": "turn.study.example"}))
    assert rendered["turn"]["domain"] == "turn.study.example"
    assert rendered["turn"]["cert_file"].endswith("/turn.study.example/turn.study.example.crt")


def test_a_missing_variable_stops_the_template_instead_of_leaving_it_empty() -> None:
    with pytest.raises(KeyError, match="LIVEKIT_TURN_DOMAIN"):
        render_template()((DEPLOY / "livekit.yaml").read_text(), {})
