"""docker/ checked without a Docker engine: the compose file parses, pins what it must,
names only real settings, and its environment yields valid newswatch settings."""

from __future__ import annotations

import functools
import importlib.metadata
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from pipeline.config import Settings
from pipeline.runs.airflow_connections import with_connections

yaml = pytest.importorskip("yaml")

DOCKER = Path(__file__).resolve().parents[2] / "docker"
COMPOSE = DOCKER / "compose.yaml"
ENV_EXAMPLE = DOCKER / ".env.example"
NEWSWATCH_NAME = re.compile(r"\bNEWSWATCH_[A-Z0-9_]+")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; $$ is a literal $.
REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*)|(:?\?)[^}]*)?\}")


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution, for the forms compose.yaml uses."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default_op, default, required = match.group(1, 2, 3, 4)
        value = env.get(name)
        if value is None or (value == "" and ":" in (default_op or required or "")):
            if required:
                raise AssertionError(f"{name} is required but not set in .env.example")
            return default or ""
        return value

    return REFERENCE.sub(substitute, text)


def interpolated(node: Any, env: dict[str, str]) -> Any:
    """Compose substitutes variables in the parsed values, after the YAML is read."""
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {key: interpolated(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolated(value, env) for value in node]
    return node


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(interpolated(yaml.safe_load(COMPOSE.read_text()), env_example()))


def is_setting(env_name: str) -> bool:
    model: type[BaseModel] = Settings
    path = env_name.removeprefix("NEWSWATCH_").lower().split("__")
    for depth, part in enumerate(path):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        nested = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if depth == len(path) - 1:
            return True
        if not nested:
            return False
        model = annotation  # type: ignore[assignment]
    return False


def test_the_setting_lookup_knows_real_names_from_typos() -> None:
    assert is_setting("NEWSWATCH_INDEX__ELASTICSEARCH__CA_CERTS")
    assert is_setting("NEWSWATCH_AIRFLOW")
    assert not is_setting("NEWSWATCH_INDEX__ELASTIC__CA_CERTS")
    assert not is_setting("NEWSWATCH_FETCH__USER_AGENT__X")


def test_every_newswatch_name_in_the_stack_is_a_real_setting() -> None:
    names = set()
    for path in (COMPOSE, ENV_EXAMPLE):
        names |= set(NEWSWATCH_NAME.findall(path.read_text()))
    assert len(names) > 10
    assert sorted(n for n in names if not is_setting(n)) == []


def test_every_variable_the_compose_file_needs_is_in_env_example() -> None:
    example = env_example()
    required = {
        m.group(1) for m in REFERENCE.finditer(COMPOSE.read_text()) if m.group(1) and m.group(4)
    }
    assert required and required <= set(example)
    assert all(example[name] for name in required)


def test_the_stack_has_airflow_postgres_elasticsearch_and_kibana(compose: dict[str, Any]) -> None:
    services = compose["services"]
    commands = {s.get("command") for s in services.values() if isinstance(s.get("command"), str)}
    assert {"api-server", "scheduler", "dag-processor", "triggerer"} <= commands
    assert {"postgres", "elasticsearch", "kibana", "airflow-init"} <= set(services)
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres/airflow")
    store = json.loads(env["AIRFLOW_CONN_NEWSWATCH_DB"])  # the store: a Connection
    assert (store["host"], store["schema"]) == ("postgres", "newswatch")  # a second database
    init_script = services["postgres"]["volumes"][1]
    assert init_script.endswith("/docker-entrypoint-initdb.d/init-newswatch.sh:ro")
    assert "CREATE DATABASE newswatch" in (DOCKER / "postgres" / "init-newswatch.sh").read_text()


def test_elasticsearch_runs_with_security_on_at_the_clients_major_version(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    client_major = importlib.metadata.version("elasticsearch").split(".")[0]
    for name in ("elasticsearch", "kibana", "es-setup"):
        image, tag = services[name]["image"].rsplit(":", 1)
        assert image.startswith("docker.elastic.co/"), name
        assert re.fullmatch(rf"{client_major}\.\d+\.\d+", tag), (name, tag)
    es = services["elasticsearch"]["environment"]
    assert es["xpack.security.enabled"] == "true"
    assert es["xpack.security.http.ssl.enabled"] == "true"
    assert es["ELASTIC_PASSWORD"] == env_example()["ELASTIC_PASSWORD"]


def test_the_image_extends_the_airflow_release_that_newswatch_is_tested_with() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    version = re.search(r"^ARG AIRFLOW_VERSION=(\S+)$", dockerfile, re.M)
    assert version is not None
    assert re.search(r"^FROM apache/airflow:\$\{AIRFLOW_VERSION\}-python", dockerfile, re.M)
    assert version.group(1) == importlib.metadata.version("apache-airflow")
    # a wheel, not an editable tree: the JSON contracts ship inside the package
    assert "pip wheel" in dockerfile
    assert '"$(ls /tmp/dist/newswatch-*.whl)[airflow]"' in dockerfile
    assert " -e " not in dockerfile
    assert "COPY --chown=airflow:root schemas" not in dockerfile


def test_the_airflow_services_environment_is_valid_newswatch_settings(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./newswatch.toml
    for service in ("airflow-scheduler", "search", "index-setup"):
        env = compose["services"][service]["environment"]
        with monkeypatch.context() as scoped:
            for name, value in env.items():
                if name.startswith("NEWSWATCH_"):
                    scoped.setenv(name, str(value))
            settings = with_connections(Settings(), functools.partial(connection, env))
        assert settings.index.backend == "elasticsearch", service
        assert settings.resolved_database_url.startswith("postgresql+psycopg://newswatch:")
        assert settings.resolved_database_url.endswith("@postgres:5432/newswatch") == (
            service == "airflow-scheduler"  # from the Connection, not the environment
        )


def connection(env: dict[str, Any], conn_id: str) -> Any:
    """The Airflow Connection AIRFLOW_CONN_<ID> (JSON form) of a service, if it has one."""
    raw = env.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if raw is None:
        return None
    conn = json.loads(raw)

    class Connection:
        host, port, schema = conn.get("host"), conn.get("port"), conn.get("schema")
        login, password = conn.get("login"), conn.get("password")
        extra_dejson = conn.get("extra", {})

    return Connection()


def test_each_elasticsearch_user_has_the_least_it_needs(compose: dict[str, Any]) -> None:
    services = compose["services"]
    users = {
        name: services[name]["environment"].get("NEWSWATCH_INDEX__ELASTICSEARCH__USERNAME")
        for name in ("search", "index-setup")
    }
    airflow = json.loads(
        services["airflow-scheduler"]["environment"]["AIRFLOW_CONN_NEWSWATCH_ELASTICSEARCH"]
    )
    assert users == {"search": "newswatch_search", "index-setup": "newswatch_admin"}
    assert airflow["login"] == "newswatch"
    assert services["index-setup"]["command"] == ["index", "setup"]
    script = (DOCKER / "elasticsearch" / "setup.sh").read_text()
    roles = {
        name: json.loads(body)
        for name, body in re.findall(r"_security/role/(\w+) -d '(\{.*?\})'", script, re.S)
    }
    assert set(roles) == {"newswatch_admin", "newswatch_writer", "newswatch_reader"}
    assert "manage_index_templates" in roles["newswatch_admin"]["cluster"]
    assert "manage_index_templates" not in roles["newswatch_writer"]["cluster"]
    assert roles["newswatch_reader"]["indices"][0]["privileges"] == ["read", "view_index_metadata"]
    for user, role in (
        ("newswatch_admin", "newswatch_admin"),
        ("newswatch", "newswatch_writer"),
        ("newswatch_search", "newswatch_reader"),
    ):
        assert f'user {user} "$' in script and script.count(f" {role}\n") >= 1, user


def test_airflow_sends_statsd_metrics_and_creates_the_fetch_pool(compose: dict[str, Any]) -> None:
    services = compose["services"]
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__METRICS__STATSD_ON"] == "true"
    assert env["AIRFLOW__METRICS__STATSD_HOST"] == "statsd-exporter"
    assert "statsd-exporter" in services
    assert "apache-airflow[statsd]" in (DOCKER / "Dockerfile").read_text()
    init = services["airflow-init"]["command"][1]
    assert "airflow pools set newswatch_fetch" in init
    assert Settings(feeds=[]).airflow.fetch_pool == "newswatch_fetch"


def test_the_elasticsearch_connection_gives_the_dags_url_user_and_ca(
    compose: dict[str, Any],
) -> None:
    raw = compose["services"]["airflow-scheduler"]["environment"]
    conn = json.loads(raw["AIRFLOW_CONN_NEWSWATCH_ELASTICSEARCH"])

    class Connection:
        host, port, schema = conn["host"], conn["port"], conn["schema"]
        login, password = conn["login"], conn["password"]
        extra_dejson = conn["extra"]

    lookup = {"newswatch_elasticsearch": Connection()}.get
    es = with_connections(Settings(feeds=[]), lookup).index.elasticsearch
    assert es.url == "https://elasticsearch:9200"
    assert es.username == "newswatch"
    assert es.password is not None
    assert es.password.get_secret_value() == env_example()["ES_NEWSWATCH_PASSWORD"]
    assert str(es.ca_certs) == "/opt/airflow/certs/ca/ca.crt"
    # The certificates volume is mounted where the connection says.
    assert "certs:/opt/airflow/certs:ro" in compose["services"]["airflow-scheduler"]["volumes"]


def test_the_shell_scripts_parse() -> None:
    for script in (
        DOCKER / "postgres" / "init-newswatch.sh",
        DOCKER / "elasticsearch" / "setup.sh",
    ):
        subprocess.run(["bash", "-n", str(script)], check=True)


def docker_compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not docker_compose_available(), reason="the docker compose plugin is absent")
def test_docker_compose_accepts_the_file() -> None:
    done = subprocess.run(
        [
            "docker",
            "compose",
            "--env-file",
            str(ENV_EXAMPLE),
            "-f",
            str(COMPOSE),
            "config",
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


# -- Kibana saved objects ----------------------------------------------------------------------

KIBANA = DOCKER / "kibana"
SAVED_OBJECTS = KIBANA / "saved-objects.ndjson"
TEMPLATE = DOCKER.parent / "schemas" / "elasticsearch" / "index-template.json"


def load_generator() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("kibana_generate", KIBANA / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_saved_objects_are_kibana_export_ndjson() -> None:
    lines = SAVED_OBJECTS.read_text(encoding="utf-8").splitlines()
    *objects, summary = (json.loads(line) for line in lines)  # each line one JSON document
    assert summary == {
        "excludedObjects": [],
        "excludedObjectsCount": 0,
        "exportedCount": len(objects),
        "missingRefCount": 0,
        "missingReferences": [],
    }
    ids = {(o["type"], o["id"]) for o in objects}
    assert len(ids) == len(objects)  # unique
    for o in objects:
        assert set(o) >= {"id", "type", "attributes", "references"}, o
        assert o["type"] in {"index-pattern", "visualization", "dashboard", "search"}
        assert o["attributes"]["title"]
        for ref in o["references"]:  # every reference resolves inside the file
            assert (ref["type"], ref["id"]) in ids, ref
        meta = o["attributes"].get("kibanaSavedObjectMeta")
        if meta:
            source = json.loads(meta["searchSourceJSON"])
            if "indexRefName" in source:
                assert source["indexRefName"] in {r["name"] for r in o["references"]}
    # the file is what the generator writes (edit generate.py, not the file)
    assert SAVED_OBJECTS.read_text(encoding="utf-8") == load_generator().ndjson(
        load_generator().saved_objects()
    )


def test_the_objects_cover_threads_and_outlets_over_time_on_the_read_alias() -> None:
    objects = [json.loads(line) for line in SAVED_OBJECTS.read_text().splitlines()[:-1]]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for o in objects:
        by_type.setdefault(o["type"], []).append(o)
    (view,) = by_type["index-pattern"]
    assert view["attributes"]["title"] == Settings(feeds=[]).index.elasticsearch.index_prefix
    assert view["attributes"]["timeFieldName"] == "published_at"
    threads = json.loads((DOCKER.parent / "pipeline/data/threads.json").read_text())["threads"]
    searches = {o["attributes"]["title"] for o in by_type["search"]}
    assert searches == {f"Thread: {t['label']}" for t in threads}  # one per thread
    mapped = json.loads(TEMPLATE.read_text())["template"]["mappings"]["properties"]
    split_fields = set()
    for vis in by_type["visualization"]:
        state = json.loads(vis["attributes"]["visState"])
        for agg in state["aggs"]:
            field = agg["params"].get("field")
            if field:
                assert field in mapped, field  # only fields the index has
                split_fields.add(field)
    assert {"threads", "outlet", "published_at"} <= split_fields
    (dashboard,) = by_type["dashboard"]
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    assert [p["panelRefName"] for p in panels] == [r["name"] for r in dashboard["references"]]
    assert len(panels) == len(by_type["visualization"])


def test_the_stack_imports_the_saved_objects(compose: dict[str, Any]) -> None:
    setup = compose["services"]["kibana-setup"]
    assert "./kibana/saved-objects.ndjson:/saved-objects.ndjson:ro" in setup["volumes"]
    command = " ".join(setup["command"])
    assert "file=@/saved-objects.ndjson" in command
    assert "http://kibana:5601/api/saved_objects/_import?overwrite=true" in command
    assert "kbn-xsrf" in command
    assert setup["depends_on"]["kibana"]["condition"] == "service_healthy"
