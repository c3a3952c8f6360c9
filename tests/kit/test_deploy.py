"""The deployment artifacts under deploy/ agree with the code: files parse, metric names exist in the registry,
TURASH_* variables are settings, health and metrics paths are routes, commands are real CLI options."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from turash.app import create_app
from turash.cli import app as cli_app
from turash.config import Settings

ROOT = Path(__file__).resolve().parents[2]
ALL_INTERFACES = ".".join(["0"] * 4)  # what a container's server binds to
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "turash"
YAML_FILES = [
    "docker-compose.yml",
    "prometheus/prometheus.yml",
    "prometheus/alerts.yml",
    "prometheus/alerts.test.yml",
    "grafana/provisioning/datasources/prometheus.yml",
    "grafana/provisioning/dashboards/turash.yml",
    "helm/turash/Chart.yaml",
    "helm/turash/values.yaml",
]
# Series Prometheus itself adds to every scrape target, not exposed by the application.
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added"}
PROMQL_WORDS = {
    *("and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"),
    *("sum", "avg", "min", "max", "count", "topk", "bottomk", "quantile", "stddev", "stdvar", "group"),
    *("inf", "nan"),
}


def load(relative: str) -> Any:
    with (DEPLOY / relative).open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (labels, ranges, grouping, functions and keywords removed)."""
    expr = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\$\{?\w+\}?", " ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][\w:]*", expr):
        if expr[match.end() :].lstrip().startswith("(") or match.group() in PROMQL_WORDS:
            continue  # a function or an aggregation
        names.add(match.group())
    return names


def exposed_names() -> set[str]:
    """Every series name the default registry can expose (counters `_total`, histograms `_bucket/_sum/_count`)."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
        "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
        "info": ("_info",),
    }
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.update(family.name + s for s in suffixes.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


@pytest.fixture
def known_metrics(client: TestClient) -> set[str]:
    """Names exposed once the app has started (collectors registered at start-up count too)."""
    assert client.get("/metrics").status_code == 200
    return exposed_names() | PROMETHEUS_SERIES


@pytest.fixture(scope="module")
def routes() -> set[str]:
    """Paths the app serves: every documented operation, and the undocumented top-level ones (/metrics)."""
    app = create_app()
    return set(app.openapi()["paths"]) | {str(r.path) for r in app.routes if hasattr(r, "path")}


def assert_health_answers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    assert response.json()["status"] == "ok"


def serve_options() -> set[str]:
    command = typer.main.get_command(cli_app).commands["serve"]  # type: ignore[attr-defined]
    return {opt for param in command.params for opt in param.opts}


def assert_serve_args(args: list[str]) -> None:
    assert args[0] == "serve", args
    unknown = {a for a in args[1:] if a.startswith("--")} - serve_options()
    assert not unknown, f"`turash serve` has no option {sorted(unknown)}"


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load("prometheus/alerts.yml")["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    board: dict[str, Any] = json.loads((DEPLOY / "grafana" / "turash-dashboard.json").read_text(encoding="utf-8"))
    return board


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]


# ---------------------------------------------------------------------------------------------------- parsing
@pytest.mark.parametrize("relative", YAML_FILES)
def test_yaml_files_parse(relative: str) -> None:
    assert isinstance(load(relative), dict)


def test_metric_name_extraction() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{route!="x", s=~"5.."}[5m]))) '
        "/ clamp_min(sum(rate(b_total[1h] offset 5m)), 1e-9) > 0.05 and on() up{job='t'} == 0 or c:rule"
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "up", "c:rule"}
    assert metric_names("sum(rate(x_count[$__rate_interval])) * 60") == {"x_count"}


def test_exposed_names_follow_the_exposition_format(known_metrics: set[str]) -> None:
    assert {"turash_http_request_duration_seconds_bucket", "turash_login_attempts_total"} <= known_metrics
    assert "turash_login_attempts" not in metric_names("rate(turash_login_attempts_total[5m])")
    assert "turash_no_such_metric_total" not in known_metrics


# ----------------------------------------------------------------------------------------- alerts, dashboard
def test_alert_rules_use_only_real_metrics(known_metrics: set[str]) -> None:
    for rule in alert_rules():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= known_metrics, (rule["alert"], sorted(names - known_metrics))


def test_alert_rules_are_complete() -> None:
    rules = alert_rules()
    names = {r["alert"] for r in rules}
    tested = {t["alertname"] for case in load("prometheus/alerts.test.yml")["tests"] for t in case["alert_rule_test"]}
    assert tested == names, f"rules without a promtool test case: {sorted(names - tested)}"
    assert {
        "TurashTargetDown",
        "TurashHigh5xxRate",
        "TurashHighLatencyP95",
        "TurashImportQuarantineRatioHigh",
        "TurashLoginFailuresSpike",
    } <= names
    assert len(names) == len(rules), "duplicate alert names"
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]


def test_alert_rules_pass_promtool() -> None:
    """`promtool check rules` and the rule unit tests; promtool from PROMTOOL or PATH, else skipped."""
    promtool = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool is not installed (set PROMTOOL=/path/to/promtool)")
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]):
        done = subprocess.run([promtool, *args], cwd=DEPLOY / "prometheus", capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_dashboard_uses_only_real_metrics(known_metrics: set[str]) -> None:
    exprs = dashboard_exprs()
    assert len(exprs) >= 10
    for expr in exprs:
        names = metric_names(expr)
        assert names and names <= known_metrics, (expr, sorted(names - known_metrics))
    used = set().union(*(metric_names(e) for e in exprs))
    for needed in (
        "turash_http_request_duration_seconds_bucket",
        "turash_http_request_duration_seconds_count",
        "turash_import_rows_total",
        "turash_login_attempts_total",
    ):
        assert needed in used, needed
    quantiles = " ".join(exprs)
    for q in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({q}," in quantiles


def test_dashboard_is_a_grafana_dashboard() -> None:
    board = dashboard()
    assert board["uid"] and board["title"] and isinstance(board["schemaVersion"], int)
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    variables = {v["name"] for v in board["templating"]["list"]}
    for panel in board["panels"]:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]), panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"].strip("${}") in variables, panel["title"]
        assert all(t["refId"] for t in panel["targets"]), panel["title"]


def test_grafana_provisioning_points_at_the_dashboard_and_prometheus() -> None:
    compose = load("docker-compose.yml")["services"]["grafana"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in compose["volumes"] if v.startswith("./")}
    provider = load("grafana/provisioning/dashboards/turash.yml")["providers"][0]
    folder = provider["options"]["path"]
    assert any(
        target.startswith(folder + "/") and src == "./grafana/turash-dashboard.json" for target, src in mounts.items()
    )
    source = load("grafana/provisioning/datasources/prometheus.yml")["datasources"][0]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"


def test_prometheus_scrapes_turash_metrics(routes: set[str]) -> None:
    config = load("prometheus/prometheus.yml")
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "turash")
    assert job.get("metrics_path", "/metrics") in routes
    assert job["static_configs"][0]["targets"] == ["api:8000"]
    for rule_file in config["rule_files"]:
        assert (DEPLOY / "prometheus" / Path(rule_file).name).is_file(), rule_file
    assert 'job="turash"' in next(r["expr"] for r in alert_rules() if r["alert"] == "TurashTargetDown")


# ---------------------------------------------------------------------------------------------- environment
def test_every_turash_variable_in_deploy_is_a_setting() -> None:
    settings = {f"TURASH_{name.upper()}" for name in Settings.model_fields}
    seen: dict[str, set[str]] = {}
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8")
        for name in re.findall(r"\bTURASH_[A-Z0-9_]*[A-Z0-9]\b", text):
            seen.setdefault(name, set()).add(str(path.relative_to(DEPLOY)))
    unknown = {name: files for name, files in seen.items() if name not in settings}
    assert not unknown, f"not Settings fields: {unknown}"
    for name in ("TURASH_DATABASE_URL", "TURASH_REDIS_URL", "TURASH_NATS_URL", "TURASH_SECRET_KEY"):
        assert name in seen, name


# ------------------------------------------------------------------------------------------------ Dockerfile
def dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text(encoding="utf-8")


def test_dockerfile_healthcheck_and_command(routes: set[str], client: TestClient) -> None:
    text = dockerfile()
    healthcheck = re.search(r"^HEALTHCHECK .*?CMD (.*)$", text, re.M | re.S)
    assert healthcheck
    path = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]+)", healthcheck.group(1))
    assert path and path.group(2) in routes, path
    assert_health_answers(client, path.group(2))
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (.*)$", text, re.M).group(1))  # type: ignore[union-attr]
    cmd = json.loads(re.search(r"^CMD (.*)$", text, re.M).group(1))  # type: ignore[union-attr]
    assert entrypoint == ["turash"]
    assert_serve_args(cmd)
    assert cmd[cmd.index("--host") + 1] == ALL_INTERFACES
    assert cmd[cmd.index("--port") + 1] == path.group(1)
    assert f"EXPOSE {path.group(1)}" in text


def test_dockerfile_stages_and_user() -> None:
    text = dockerfile()
    assert re.search(r"^ARG NODE_IMAGE=node:20\b", text, re.M)
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.M)
    assert "npm ci" in text and "npm run build" in text and "pip install ." in text
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    # the web build lands where the package (hatch artifacts) and app.py expect it
    vite = (ROOT / "web" / "vite.config.ts").read_text(encoding="utf-8")
    out_dir = re.search(r'outDir:\s*"([^"]+)"', vite).group(1)  # type: ignore[union-attr]
    assert (ROOT / "web" / out_dir).resolve() == ROOT / "turash" / "webapp_dist"
    assert "COPY --from=web /src/turash/webapp_dist/ turash/webapp_dist/" in text
    for copied in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
        for source in copied.split():
            assert (ROOT / source).exists(), source
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    assert "**/node_modules" in ignore and "**/.venv" in ignore


# --------------------------------------------------------------------------------------------------- compose
def test_compose_services_and_health(routes: set[str], client: TestClient) -> None:
    services = load("docker-compose.yml")["services"]
    assert {"api", "migrate", "postgres", "redis", "nats", "mosquitto", "prometheus", "grafana"} <= set(services)
    assert services["postgres"]["image"] == "postgis/postgis:15-3.4"
    assert "-js" in services["nats"]["command"]
    assert services["mosquitto"]["image"].startswith("eclipse-mosquitto")
    api = services["api"]
    assert (DEPLOY / api["build"]["context"] / api["build"]["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    assert_serve_args(api["command"])
    assert services["migrate"]["command"] == ["db", "upgrade"]
    health = re.search(r"http://127\.0\.0\.1:8000(/[\w/]+)", " ".join(api["healthcheck"]["test"]))
    assert health and health.group(1) in routes, health
    assert_health_answers(client, health.group(1))
    one_shot_or_headless = {"migrate", "ingest-mqtt"}
    for name, service in services.items():
        if name not in one_shot_or_headless:
            assert "healthcheck" in service, f"{name} has no healthcheck"
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, (name, dependency)
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], (name, dependency)
            if condition["condition"] == "service_completed_successfully":
                assert dependency in one_shot_or_headless
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_has_no_hard_coded_secret() -> None:
    compose = load("docker-compose.yml")
    interpolated = re.compile(r"^\$\{[A-Z_]+:\?[^}]*\}$")
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET", key) and not key.endswith("_FILE"):
                assert interpolated.match(str(value)), f"{name}: {key} must come from deploy/.env"
    env = compose["services"]["api"]["environment"]
    url = env["TURASH_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://turash:${POSTGRES_PASSWORD:?")
    assert env["TURASH_SECRET_KEY_FILE"] == "/run/secrets/turash_secret_key"
    assert "TURASH_SECRET_KEY" not in env
    assert compose["secrets"]["turash_secret_key"]["file"].startswith("./secrets/")
    ignored = (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored and "secrets/" in ignored
    for key in ("TURASH_DATABASE_URL", "TURASH_REDIS_URL", "TURASH_NATS_URL", "TURASH_MQTT_URL"):
        assert env[key].split("://")[0] in {"postgresql+psycopg", "redis", "nats", "mqtt"}, key


def test_compose_mounts_files_that_exist() -> None:
    for name, service in load("docker-compose.yml")["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), (name, source)


# ------------------------------------------------------------------------------------------------------ helm
def test_chart_metadata() -> None:
    chart = load("helm/turash/Chart.yaml")
    assert chart["apiVersion"] == "v2" and chart["name"] == "turash"
    assert re.fullmatch(r"\d+\.\d+\.\d+", chart["version"])
    for template in (
        "_helpers.tpl",
        "NOTES.txt",
        "deployment.yaml",
        "service.yaml",
        "configmap.yaml",
        "secret.yaml",
        "ingress.yaml",
        "hpa.yaml",
        "migrate-job.yaml",
    ):
        assert (CHART / "templates" / template).is_file(), template


def test_helm_values(routes: set[str], client: TestClient) -> None:
    values = load("helm/turash/values.yaml")
    for probe in ("livenessPath", "readinessPath"):
        assert values["probes"][probe] in routes, probe
        assert_health_answers(client, values["probes"][probe])
    settings = {f"TURASH_{name.upper()}" for name in Settings.model_fields}
    config = values["config"]
    assert set(config) <= settings, sorted(set(config) - settings)
    assert not {"TURASH_SECRET_KEY", "TURASH_DATABASE_URL", "TURASH_AUTO_MIGRATE"} & set(config)
    assert all(isinstance(v, str) for v in config.values()), "ConfigMap values must be strings"
    assert values["server"]["workers"] == 1
    assert values["podSecurityContext"]["runAsNonRoot"] is True


def test_helm_templates_reference_existing_values() -> None:
    values = load("helm/turash/values.yaml")
    for path in (CHART / "templates").iterdir():
        text = path.read_text(encoding="utf-8")
        for reference in set(re.findall(r"\.Values((?:\.[A-Za-z0-9_]+)+)", text)):
            node: Any = values
            for key in reference.strip(".").split("."):
                assert isinstance(node, dict) and key in node, f"{path.name}: .Values{reference} is not in values.yaml"
                node = node[key]


def test_helm_template_blocks_are_balanced() -> None:
    """Without helm on the machine: every if/range/with/define has its end, and every {{ has its }}."""
    for path in (CHART / "templates").iterdir():
        text = path.read_text(encoding="utf-8")
        assert text.count("{{") == text.count("}}"), path.name
        depth = 0
        for action in re.findall(r"\{\{-?\s*(\w+)", text):
            if action in {"if", "range", "with", "define"}:
                depth += 1
            elif action == "end":
                depth -= 1
                assert depth >= 0, path.name
        assert depth == 0, path.name


def test_helm_probes_and_args_in_the_deployment() -> None:
    text = (CHART / "templates" / "deployment.yaml").read_text(encoding="utf-8")
    assert "path: {{ .Values.probes.livenessPath }}" in text
    assert "path: {{ .Values.probes.readinessPath }}" in text
    args = re.findall(r"^\s+- (--[\w-]+)$", text, re.M)
    assert set(args) <= serve_options(), args
    assert "- serve\n" in text and f"- --host\n            - {ALL_INTERFACES}\n" in text
