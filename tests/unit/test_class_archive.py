"""When the Spark driver is told to map the class archive, and what counts as a usable one."""

from __future__ import annotations

from pathlib import Path

from pipeline.class_archive import (
    ARCHIVE_PREFIX,
    _maps,
    archive_path,
    driver_archive_option,
    ensure_archive,
    remove_stale,
)
from pipeline.spark import spark_conf


def test_a_local_driver_maps_the_archive_once_it_exists(make_settings, tmp_path: Path) -> None:
    settings = make_settings(state_dir=tmp_path)
    assert driver_archive_option(settings) == ""
    archive = archive_path(tmp_path)
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"archive")
    option = f"-XX:SharedArchiveFile={archive}"
    assert driver_archive_option(settings) == option
    conf = spark_conf(settings, "trendoff-archive-test")
    assert option in conf["spark.driver.extraJavaOptions"].split()
    assert option not in conf["spark.executor.extraJavaOptions"]


def test_no_archive_on_a_cluster_or_when_the_user_chose_one(make_settings, tmp_path: Path) -> None:
    archive = archive_path(tmp_path)
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"archive")
    cluster = make_settings(state_dir=tmp_path, spark_master="spark://10.0.0.5:7077")
    own = make_settings(state_dir=tmp_path, spark_java_options="-XX:SharedArchiveFile=/opt/a.jsa")
    off = make_settings(state_dir=tmp_path, spark_java_options="-Xshare:off")
    assert [driver_archive_option(s) for s in (cluster, own, off)] == ["", "", ""]


def test_no_archive_for_a_jvm_that_records_or_loads_an_agent(
    make_settings, tmp_path: Path, monkeypatch
) -> None:
    # Such a JVM crashed mapping the archive (SIGSEGV at every start of the jobs).
    archive = archive_path(tmp_path)
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"archive")
    for variable in ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS"):
        monkeypatch.delenv(variable, raising=False)
    plain = make_settings(state_dir=tmp_path)
    assert driver_archive_option(plain) == f"-XX:SharedArchiveFile={archive}"
    recording = make_settings(
        state_dir=tmp_path, spark_java_options="-XX:StartFlightRecording=filename=/tmp/a.jfr"
    )
    assert driver_archive_option(recording) == ""
    assert ensure_archive(recording, force=True) is None
    assert archive.read_bytes() == b"archive"  # not rebuilt with it either
    monkeypatch.setenv("JAVA_TOOL_OPTIONS", "-javaagent:/opt/agent.jar")
    assert driver_archive_option(plain) == ""


def test_a_missing_or_damaged_draft_is_never_published(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.draft"
    damaged.write_bytes(b"\x00" * 4096)
    assert not _maps(damaged)
    assert not _maps(tmp_path / "missing.draft")


def test_publishing_an_archive_removes_older_ones_and_their_logs(tmp_path: Path) -> None:
    archive = archive_path(tmp_path)
    archive.parent.mkdir(parents=True)
    older = archive.with_name(f"{ARCHIVE_PREFIX}0123456789abcdef.jsa")
    kept = [archive, archive.with_suffix(".log"), archive.parent / "spark.classpath"]
    for path in [*kept, older, older.with_suffix(".log")]:
        path.write_text("x")
    remove_stale(archive)
    assert sorted(archive.parent.iterdir()) == sorted(kept)
