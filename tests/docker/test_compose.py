"""Static checks of the Docker deployment (docker/compose.yaml, docker/Dockerfile).

There is no Docker engine in CI, so nothing here builds or starts a container. Instead each check
compares the deployment files with the code and the pins they must agree with: the Compose
Specification schema, the `trendoff` argument parser, the settings class, requirements.txt and
jvm/pom.xml. Every check is a function returning a list of problems, so the `*_catches_*` tests can
run it on a deliberately broken copy and prove it would notice that kind of drift.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import json
import os
import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from pipeline.cli import build_parser
from pipeline.settings import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker" / "compose.yaml"
DOCKERFILE = REPO / "docker" / "Dockerfile"
REQUIREMENTS = REPO / "requirements.txt"
POM = REPO / "jvm" / "pom.xml"

# The schema ships inside the check-jsonschema wheel (requirements-dev.txt). It is located through
# the distribution's file list rather than imported, so only the JSON file itself is relied on.
SCHEMA_DISTRIBUTION = "check-jsonschema"
SCHEMA_FILE = "check_jsonschema/builtin_schemas/vendor/compose-spec.json"

POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
# Official images whose tag must equal a version property of jvm/pom.xml.
PINNED_IMAGES = {"apache/kafka": "kafka.version", "cassandra": "cassandra.version"}
SETTING_REFERENCE = re.compile(r"\$\{?(TRENDOFF_[A-Z0-9_]+)")
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}")


# --- loading -------------------------------------------------------------------------------------


def load_compose(path: Path = COMPOSE) -> dict[str, Any]:
    # safe_load resolves the `<<: *anchor` merges, so every service below is seen fully expanded,
    # the way Compose itself sees it.
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path} is not a YAML mapping"
    return document


@cache
def compose_schema() -> dict[str, Any]:
    try:
        distribution = importlib.metadata.distribution(SCHEMA_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(f"{SCHEMA_DISTRIBUTION} is not installed: pip install -r requirements-dev.txt")
    path = Path(str(distribution.locate_file(SCHEMA_FILE)))
    if not path.is_file():
        pytest.fail(f"{SCHEMA_DISTRIBUTION} {distribution.version} has no {SCHEMA_FILE}")
    return json.loads(path.read_text(encoding="utf-8"))


def requirement_pins(path: Path = REQUIREMENTS) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"requirements.txt line is not an exact pin: {line!r}"
            pins[normalise(name)] = version.strip()
    return pins


def pom_properties(path: Path = POM) -> dict[str, str]:
    properties = ET.parse(path).getroot().find("m:properties", POM_NS)
    assert properties is not None, "jvm/pom.xml has no <properties>"
    return {child.tag.split("}", 1)[1]: (child.text or "").strip() for child in properties}


def normalise(name: str) -> str:
    """PEP 503 name normalisation, so `PyYAML` and `pyyaml` compare equal."""
    return re.sub(r"[-_.]+", "-", name).lower()


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose.get("services") or {}


def trendoff_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Services running the Trendoff image: the ones built from docker/Dockerfile."""
    return {name: spec for name, spec in services(compose).items() if "build" in spec}


def environments(compose: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(service, variable, value) for every environment entry, in both Compose syntaxes."""
    for name, spec in services(compose).items():
        environment = spec.get("environment") or {}
        if isinstance(environment, list):
            for entry in environment:
                key, _, value = entry.partition("=")
                yield name, key, value if "=" in entry else None
        else:
            for key, value in environment.items():
                yield name, key, value


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


# --- the checks ----------------------------------------------------------------------------------


def schema_errors(compose: dict[str, Any]) -> list[str]:
    schema = compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator_class(schema).iter_errors(compose)
    ]


def command_argv(spec: dict[str, Any]) -> list[str]:
    command = spec.get("command")
    if isinstance(command, str):
        return shlex.split(command)
    return [str(part) for part in command or []]


def command_problem(service: str, spec: dict[str, Any]) -> str | None:
    """Why `trendoff <command>` of this service would not start, or None when it parses."""
    argv = command_argv(spec)
    if not argv:
        return f"{service}: no command, so the container would only print `trendoff --help`"
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(argv)
    except SystemExit:
        reason = stderr.getvalue().strip().splitlines()[-1:] or ["argparse gave no reason"]
        return f"{service}: `trendoff {shlex.join(argv)}` is rejected by the CLI: {reason[0]}"
    return None


def command_problems(compose: dict[str, Any]) -> list[str]:
    problems = []
    for name, spec in trendoff_services(compose).items():
        if "entrypoint" in spec:
            problems.append(f"{name}: overrides the image's `trendoff` entrypoint")
        problem = command_problem(name, spec)
        if problem:
            problems.append(problem)
    return problems


def unknown_settings(compose: dict[str, Any]) -> list[str]:
    """TRENDOFF_* names, set or interpolated anywhere, that are not fields of Settings."""
    fields = {name.lower() for name in Settings.model_fields}
    found = {key for _, key, _ in environments(compose) if key.startswith("TRENDOFF_")}
    for text in strings(compose):
        found.update(SETTING_REFERENCE.findall(text))
    return sorted(name for name in found if name.removeprefix("TRENDOFF_").lower() not in fields)


def interpolate_defaults(value: str) -> str:
    """What Compose makes of `${VAR:-default}` when VAR is unset in the shell."""
    return INTERPOLATION.sub(lambda match: match.group(2) or "", value)


def image_tag_problems(compose: dict[str, Any], versions: dict[str, str]) -> list[str]:
    problems = []
    seen = set()
    for name, spec in services(compose).items():
        repository, _, tag = str(spec.get("image", "")).partition(":")
        if repository not in PINNED_IMAGES:
            continue
        seen.add(repository)
        wanted = versions[PINNED_IMAGES[repository]]
        if tag != wanted:
            problems.append(
                f"{name}: image {repository}:{tag or '<latest>'} but jvm/pom.xml "
                f"{PINNED_IMAGES[repository]} is {wanted}"
            )
    missing = sorted(PINNED_IMAGES.keys() - seen)
    problems.extend(f"no service runs the {repository} image" for repository in missing)
    return problems


def dependency_problems(compose: dict[str, Any]) -> list[str]:
    problems = []
    all_services = services(compose)
    for server in ("kafka", "cassandra"):
        check = (all_services.get(server) or {}).get("healthcheck") or {}
        if not check.get("test") or check.get("disable"):
            problems.append(f"{server} has no healthcheck, so nothing can wait for it to be ready")
    for name, spec in all_services.items():
        depends_on = spec.get("depends_on") or {}
        if isinstance(depends_on, list):
            # The short form only waits for the container to start, not to be ready.
            problems.append(f"{name}: depends_on {depends_on} without a condition")
            continue
        for target, rule in depends_on.items():
            condition = (rule or {}).get("condition")
            if condition is None:
                problems.append(f"{name}: depends_on {target} without a condition")
            elif condition == "service_healthy" and "healthcheck" not in all_services.get(
                target, {}
            ):
                problems.append(f"{name}: waits for {target} to be healthy, which has no check")
    for name in trendoff_services(compose):
        rules = all_services[name].get("depends_on") or {}
        wanted = (
            {"kafka": "service_healthy", "cassandra": "service_healthy"}
            if name == "init"
            else {"init": "service_completed_successfully"}
        )
        for target, condition in wanted.items():
            actual = rules.get(target, {}).get("condition") if isinstance(rules, dict) else None
            if actual != condition:
                problems.append(f"{name}: must depend on {target} with {condition}, has {actual}")
    return problems


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending += " " + line.removesuffix("\\").strip()
        if not line.endswith("\\"):
            keyword, _, arguments = pending.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
            pending = ""
    return instructions


def pip_installs(text: str) -> Iterator[list[str]]:
    """The arguments after `pip install` of every pip call in a RUN instruction."""
    for keyword, arguments in dockerfile_instructions(text):
        if keyword != "RUN":
            continue
        for command in re.split(r"&&|;|\|\|", arguments):
            words = shlex.split(command)
            for index in range(len(words) - 1):
                if words[index].endswith("pip") and words[index + 1] == "install":
                    yield words[index + 2 :]
                    break


def dockerfile_pin_problems(text: str, pins: dict[str, str]) -> list[str]:
    problems = []
    uses_requirements = False
    for arguments in pip_installs(text):
        no_deps = "--no-deps" in arguments
        words = iter(arguments)
        for word in words:
            if word in ("-r", "--requirement"):
                target = next(words, "")
                if Path(target).name == "requirements.txt":
                    uses_requirements = True
                else:
                    problems.append(f"pip installs from {target}, not requirements.txt")
            elif word in ("-e", "--editable") or word == "." or word.startswith(("/", "./")):
                target = next(words, "") if word in ("-e", "--editable") else word
                if not no_deps:
                    problems.append(f"pip installs {target} without --no-deps: unpinned deps")
            elif word.startswith("-"):
                continue
            else:
                name, sep, version = word.partition("==")
                pinned = pins.get(normalise(name))
                if not sep:
                    problems.append(f"pip installs {word} without an exact pin")
                elif pinned != version:
                    problems.append(f"pip installs {word}, requirements.txt pins {pinned}")
    if not uses_requirements:
        problems.append("the Dockerfile never runs `pip install -r requirements.txt`")
    return problems


def java_majors(text: str) -> set[int]:
    return {int(major) for major in re.findall(r"openjdk-(\d+)-j(?:re|dk)", text)}


# --- the tests -----------------------------------------------------------------------------------


def test_compose_file_follows_the_compose_specification() -> None:
    errors = schema_errors(load_compose())
    assert not errors, "docker/compose.yaml breaks the Compose Specification:\n" + "\n".join(errors)


@pytest.mark.parametrize("service", sorted(trendoff_services(load_compose())))
def test_service_command_is_a_real_trendoff_command(service: str) -> None:
    problem = command_problem(service, trendoff_services(load_compose())[service])
    if problem:
        pytest.fail(problem)


def test_every_part_runs_in_exactly_one_service() -> None:
    """Plain `trendoff run` starts the jobs and a source of its own: as the app service it would
    run a second pipeline beside the speed, master, batch and producer services."""
    commands = {
        name: [str(word) for word in spec["command"]]
        for name, spec in trendoff_services(load_compose()).items()
    }
    assert commands["app"] == ["run", "--app-only"]
    part_of = {"speed": "speed", "master": "master", "batch": "batch", "produce": "source"}
    parts = sorted(part_of[command[0]] for command in commands.values() if command[0] in part_of)
    assert parts == ["batch", "master", "source", "speed"]
    assert not [name for name, command in commands.items() if command[0] == "jobs"]


def test_no_service_overrides_the_entrypoint() -> None:
    assert not [p for p in command_problems(load_compose()) if "entrypoint" in p]


def test_every_trendoff_variable_is_a_setting() -> None:
    unknown = unknown_settings(load_compose())
    assert not unknown, f"not fields of pipeline.settings.Settings: {', '.join(unknown)}"


def test_fixed_environment_values_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # The values compose.yaml sets itself (interpolations resolved to their defaults) must pass the
    # settings validators, or every container would exit with `invalid settings`.
    for name in [name for name in os.environ if name.startswith("TRENDOFF_")]:
        monkeypatch.delenv(name)
    for service, key, value in environments(load_compose()):
        if not key.startswith("TRENDOFF_") or value is None:
            continue
        monkeypatch.setenv(key, interpolate_defaults(str(value)))
        try:
            Settings(_env_file=None)  # type: ignore[call-arg]
        except ValueError as exc:
            pytest.fail(f"{service}: {key}={value!r} is not a valid setting: {exc}")
        monkeypatch.delenv(key)


def test_server_images_match_the_jvm_pins() -> None:
    problems = image_tag_problems(load_compose(), pom_properties())
    assert not problems, "\n".join(problems)


def test_dockerfile_installs_exactly_the_local_pins() -> None:
    problems = dockerfile_pin_problems(DOCKERFILE.read_text(encoding="utf-8"), requirement_pins())
    assert not problems, "\n".join(problems)


def test_dockerfile_runs_java_17_and_python_3_11_as_trendoff() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert java_majors(text) == {17}, f"Java packages in the Dockerfile: {java_majors(text)}"
    instructions = dockerfile_instructions(text)
    bases = [args.split()[0] for keyword, args in instructions if keyword == "FROM"]
    external = [base for base in bases if ":" in base]
    assert external, "no FROM with an image tag"
    for base in external:
        assert base.startswith("python:3.11-") and "bookworm" in base, base
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users and users[-1] == "trendoff", f"the final image runs as {users[-1:] or 'root'}"
    entrypoints = [args for keyword, args in instructions if keyword == "ENTRYPOINT"]
    assert entrypoints and json.loads(entrypoints[-1]) == ["trendoff"]


def test_state_dir_is_the_one_baked_into_the_image() -> None:
    # The image holds the classpath lists under its state dir and has no Maven: a container with
    # another state dir would try to run Maven at start-up and fail.
    env_lines = [
        args
        for keyword, args in dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))
        if keyword == "ENV"
    ]
    baked = re.search(r"TRENDOFF_STATE_DIR=(\S+)", " ".join(env_lines))
    assert baked, "the Dockerfile sets no TRENDOFF_STATE_DIR"
    compose = load_compose()
    for name, key, value in environments(compose):
        if key == "TRENDOFF_STATE_DIR":
            assert value == baked[1], f"{name}: TRENDOFF_STATE_DIR={value}, image has {baked[1]}"
    # A mount over the state dir itself or its jvm/ would hide those lists; only checkpoints/ may
    # be a volume. Mounts elsewhere (input files for the producer, say) are no concern here.
    for name, spec in trendoff_services(compose).items():
        for volume in spec.get("volumes") or []:
            target = volume.split(":")[1] if isinstance(volume, str) else volume["target"]
            if target == baked[1] or target.startswith(f"{baked[1]}/"):
                assert target == f"{baked[1]}/checkpoints", f"{name} mounts a volume at {target}"


def test_servers_have_healthchecks_and_every_dependency_a_condition() -> None:
    problems = dependency_problems(load_compose())
    assert not problems, "\n".join(problems)


def test_published_ports_are_loopback_only() -> None:
    for name, spec in services(load_compose()).items():
        for port in spec.get("ports") or []:
            host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
            assert host_ip == "127.0.0.1", f"{name} publishes {port} beyond loopback"


# --- the checks catch drift ----------------------------------------------------------------------


def mutated(tmp_path: Path, old: str, new: str) -> dict[str, Any]:
    """compose.yaml with one exact piece of text replaced, loaded from a copy in tmp_path."""
    text = COMPOSE.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"mutation target {old!r} must occur exactly once"
    copy = tmp_path / "compose.yaml"
    copy.write_text(text.replace(old, new), encoding="utf-8")
    return load_compose(copy)


def test_schema_check_catches_an_unknown_service_key(tmp_path: Path) -> None:
    compose = mutated(tmp_path, "    command: [speed]\n", "    command: [speed]\n    comand: x\n")
    assert any("comand" in error for error in schema_errors(compose))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("command: [speed]", "command: [speed, --no-such-flag]", "--no-such-flag"),
        ("command: [master]", "command: [mastr]", "mastr"),
        ("command: [batch, --every, 15m]", "command: batch --every", "--every"),
    ],
)
def test_command_check_catches_drift(tmp_path: Path, old: str, new: str, expected: str) -> None:
    problems = command_problems(mutated(tmp_path, old, new))
    assert any(expected in problem for problem in problems), problems


def test_settings_check_catches_an_unknown_variable(tmp_path: Path) -> None:
    compose = mutated(
        tmp_path,
        "  TRENDOFF_STATE_DIR: /var/lib/trendoff\n",
        "  TRENDOFF_STATE_DIR: /var/lib/trendoff\n  TRENDOFF_STATE_DIRECTORY: /x\n",
    )
    assert unknown_settings(compose) == ["TRENDOFF_STATE_DIRECTORY"]


def test_settings_check_catches_an_unknown_interpolation(tmp_path: Path) -> None:
    compose = mutated(tmp_path, "${TRENDOFF_CASSANDRA_HEAP:-1G}", "${TRENDOFF_CASANDRA_HEAP:-1G}")
    assert unknown_settings(compose) == ["TRENDOFF_CASANDRA_HEAP"]


def test_image_check_catches_a_version_mismatch(tmp_path: Path) -> None:
    compose = mutated(tmp_path, "image: apache/kafka:3.9.2", "image: apache/kafka:3.9.1")
    assert image_tag_problems(compose, pom_properties()) == [
        "kafka: image apache/kafka:3.9.1 but jvm/pom.xml kafka.version is 3.9.2"
    ]
    # One anchor gives all three Cassandra services their image, so all three drift together.
    compose = mutated(tmp_path, "image: cassandra:5.0.9", "image: cassandra:latest")
    problems = image_tag_problems(compose, pom_properties())
    assert {problem.split(":")[0] for problem in problems} == {
        "cassandra",
        "cassandra-2",
        "cassandra-3",
    }


def test_pin_check_catches_a_different_or_missing_pin() -> None:
    pins = {"pyspark": "3.5.7"}
    base = "RUN pip install -r requirements.txt\n"
    assert dockerfile_pin_problems(base, pins) == []
    assert dockerfile_pin_problems(base + "RUN pip install pyspark==3.5.6\n", pins) == [
        "pip installs pyspark==3.5.6, requirements.txt pins 3.5.7"
    ]
    assert dockerfile_pin_problems(base + "RUN pip install streamlit\n", pins) == [
        "pip installs streamlit without an exact pin"
    ]
    assert dockerfile_pin_problems(base + "RUN pip install -e .\n", pins) == [
        "pip installs . without --no-deps: unpinned deps"
    ]
    assert dockerfile_pin_problems("RUN pip install pyspark==3.5.7\n", pins) == [
        "the Dockerfile never runs `pip install -r requirements.txt`"
    ]
    assert java_majors("apt-get install openjdk-21-jre-headless") == {21}


def test_dependency_check_catches_missing_health_and_conditions(tmp_path: Path) -> None:
    compose = mutated(
        tmp_path,
        "    depends_on:\n      cassandra-2:\n        condition: service_healthy\n",
        "    depends_on: [cassandra-2]\n",
    )
    assert any("cassandra-3: depends_on" in problem for problem in dependency_problems(compose))
    compose = load_compose()
    del compose["services"]["kafka"]["healthcheck"]
    compose["services"]["speed"]["depends_on"] = {"init": {"condition": "service_started"}}
    problems = dependency_problems(compose)
    assert any(problem.startswith("kafka has no healthcheck") for problem in problems)
    assert any(problem.startswith("init: waits for kafka") for problem in problems)
    assert any(problem.startswith("speed: must depend on init") for problem in problems)
