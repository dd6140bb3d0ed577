"""The JVM side of Trendoff: Java checks and the Maven-resolved classpaths of Kafka, Cassandra and
the Spark connectors.

The versions live in ``jvm/pom.xml`` only. Maven resolves each module's runtime classpath into the
local Maven cache once; the resulting lists of jar paths are recorded under the state dir together
with a hash of the pom files, so later runs reuse them without starting Maven at all.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import subprocess
import time
from pathlib import Path

from pipeline.errors import TrendoffError

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
JVM_DIR = PROJECT_ROOT / "jvm"
MODULES = ("kafka", "cassandra", "spark")

_JAR_VERSION = re.compile(r"-\d[\w.\-]*\.jar$")


def require_tool(name: str, install_hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise TrendoffError(f"`{name}` was not found on PATH", hint=install_hint)
    return path


def java_executable() -> str:
    java = require_tool(
        "java", "install a Java 17 runtime (Debian: apt-get install openjdk-17-jre-headless)"
    )
    completed = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)', completed.stderr)
    if match is None or int(match.group(1)) < 17:
        found = completed.stderr.splitlines()[0] if completed.stderr else "unknown"
        raise TrendoffError(
            f"Java 17 or newer is required, found: {found}",
            hint="install openjdk-17 and put it first on PATH",
        )
    return java


def _pom_digest() -> str:
    digest = hashlib.sha256()
    for pom in sorted(JVM_DIR.rglob("pom.xml")):
        digest.update(pom.relative_to(JVM_DIR).as_posix().encode())
        digest.update(pom.read_bytes())
    return digest.hexdigest()


def _read_classpath(path: Path) -> list[Path]:
    return [Path(entry) for entry in path.read_text().strip().split(":") if entry]


def resolve_classpaths(state_dir: Path, *, force: bool = False) -> dict[str, list[Path]]:
    """Return each module's jars, running Maven only when the poms changed or a jar is missing."""
    out_dir = state_dir / "jvm"
    stamp = out_dir / "poms.sha256"
    digest = _pom_digest()
    files = {module: out_dir / f"{module}.classpath" for module in MODULES}
    if not force and stamp.exists() and stamp.read_text() == digest:
        try:
            cached = {module: _read_classpath(path) for module, path in files.items()}
        except FileNotFoundError:
            cached = {}
        if cached and all(jar.exists() for jars in cached.values() for jar in jars):
            return cached

    mvn = require_tool("mvn", "install Maven 3.8+ (Debian: apt-get install maven)")
    out_dir.mkdir(parents=True, exist_ok=True)
    logger.info("resolving JVM dependencies with Maven (first run downloads about 220 MB)")
    started = time.monotonic()
    completed = subprocess.run(
        [
            mvn,
            "-B",
            "-q",
            "-f",
            str(JVM_DIR / "pom.xml"),
            "dependency:build-classpath",
            f"-Dtrendoff.classpath.dir={out_dir}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        log = out_dir / "maven.log"
        log.write_text(completed.stdout + completed.stderr)
        raise TrendoffError(
            "Maven could not resolve the JVM dependencies in jvm/pom.xml",
            hint="check network access to Maven Central, then run `make setup` again",
            log=str(log),
        )
    stamp.write_text(digest)
    logger.info("JVM dependencies resolved in %.1f s", time.monotonic() - started)
    return {module: _read_classpath(path) for module, path in files.items()}


def artifact_name(jar: Path) -> str:
    """``kafka-clients-3.4.1.jar`` -> ``kafka-clients``: the name without its version."""
    return _JAR_VERSION.sub("", jar.name)


def spark_connector_jars(state_dir: Path) -> list[Path]:
    """Connector jars to hand to pyspark, minus artifacts pyspark already ships (hadoop, scala…).

    A second copy of such a jar on the classpath is at best dead weight and at worst a version
    clash, so only the connectors and their genuinely new dependencies are kept.
    """
    import pyspark

    bundled = {artifact_name(jar) for jar in (Path(pyspark.__file__).parent / "jars").glob("*.jar")}
    jars = resolve_classpaths(state_dir)["spark"]
    return [jar for jar in jars if artifact_name(jar) not in bundled]


UDF_SOURCES = JVM_DIR / "udf" / "src" / "main" / "java"


def udf_jar(state_dir: Path) -> Path:
    """Trendoff's own Spark SQL function(s) as a jar, compiled with javac against pyspark's jars.

    Rebuilt only when a source file changes (the jar's name carries a hash of the sources).
    """
    import pyspark

    sources = sorted(UDF_SOURCES.rglob("*.java"))
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()[:16]
    jar = state_dir / "jvm" / f"trendoff-udf-{digest}.jar"
    if jar.exists():
        return jar
    javac = require_tool(
        "javac", "install a Java 17 JDK (Debian: apt-get install openjdk-17-jdk-headless)"
    )
    jar_tool = require_tool(
        "jar", "install a Java 17 JDK (Debian: apt-get install openjdk-17-jdk-headless)"
    )
    spark_jars = Path(pyspark.__file__).parent / "jars"
    classes = state_dir / "jvm" / "udf-classes"
    shutil.rmtree(classes, ignore_errors=True)
    classes.mkdir(parents=True)
    compiled = subprocess.run(
        [
            javac,
            "--release",
            "11",
            "-cp",
            f"{spark_jars}/*",
            "-d",
            str(classes),
            *map(str, sources),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if compiled.returncode != 0:
        raise TrendoffError(
            f"compiling Trendoff's Spark functions failed: {compiled.stderr.strip()}"
        )
    subprocess.run([jar_tool, "--create", "--file", str(jar), "-C", str(classes), "."], check=True)
    for stale in jar.parent.glob("trendoff-udf-*.jar"):
        if stale != jar:
            stale.unlink()
    return jar
