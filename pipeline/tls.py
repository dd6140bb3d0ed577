"""TLS to Cassandra and Kafka, from settings: the options each client library takes.

Settings name PEM files (a CA bundle, and optionally a client certificate and its key). Python
clients read them as they are; Kafka's Java client (in Spark) reads PEM too. The Spark Cassandra
connector reads only Java key stores, so for it the PEM files are converted (with the JDK's
``keytool`` and ``openssl``) into PKCS#12 stores private to the process, under
``<state dir>/tls``, whose random passwords reach Spark only through the py4j gateway.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import secrets
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

from pipeline.errors import TrendoffError
from pipeline.settings import Settings

logger = logging.getLogger(__name__)

_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
# Passed to keytool/openssl through the environment (`-storepass:env`, `-passout env:`), so
# no store password is ever on a command line.
_PASSWORD_VARIABLE = "TRENDOFF_TLS_STORE_PASSWORD"


def cassandra_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The Python driver's TLS context; None when Cassandra TLS is off. Host names are checked
    against the node's certificate (the driver passes the contact address)."""
    if not settings.cassandra_tls:
        return None
    context = ssl.create_default_context(
        cafile=str(settings.cassandra_tls_ca_file) if settings.cassandra_tls_ca_file else None
    )
    if settings.cassandra_tls_cert_file and settings.cassandra_tls_key_file:
        context.load_cert_chain(settings.cassandra_tls_cert_file, settings.cassandra_tls_key_file)
    return context


def kafka_client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of every kafka-python client (producer, consumer, admin)."""
    options: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap_servers}
    if settings.kafka_security_protocol == "SSL":
        options.update(security_protocol="SSL", ssl_check_hostname=True)
        if settings.kafka_tls_ca_file:
            options["ssl_cafile"] = str(settings.kafka_tls_ca_file)
        if settings.kafka_tls_cert_file and settings.kafka_tls_key_file:
            options["ssl_certfile"] = str(settings.kafka_tls_cert_file)
            options["ssl_keyfile"] = str(settings.kafka_tls_key_file)
    return options


def spark_kafka_options(settings: Settings) -> dict[str, str]:
    """Options of Spark's Kafka source and sink (Kafka's Java client, which reads PEM)."""
    options = {"kafka.bootstrap.servers": settings.kafka_bootstrap_servers}
    if settings.kafka_security_protocol == "SSL":
        options["kafka.security.protocol"] = "SSL"
        if settings.kafka_tls_ca_file:
            options["kafka.ssl.truststore.type"] = "PEM"
            options["kafka.ssl.truststore.location"] = str(settings.kafka_tls_ca_file)
        if settings.kafka_tls_cert_file and settings.kafka_tls_key_file:
            # A PEM key store is one file holding the key, then the certificate chain.
            options["kafka.ssl.keystore.type"] = "PEM"
            options["kafka.ssl.keystore.location"] = str(
                _private_file(
                    settings,
                    "kafka-client.pem",
                    settings.kafka_tls_key_file.read_text()
                    + "\n"
                    + settings.kafka_tls_cert_file.read_text(),
                )
            )
    return options


def spark_cassandra_tls_conf(settings: Settings) -> dict[str, str]:
    """The connector's `spark.cassandra.connection.ssl.*` settings; the store passwords among
    them are secrets (see ``pipeline.spark.SECRET_CONF_KEYS``)."""
    if not settings.cassandra_tls:
        return {}
    conf = {"spark.cassandra.connection.ssl.enabled": "true"}
    if settings.cassandra_tls_ca_file:
        path, password = java_truststore(settings, settings.cassandra_tls_ca_file)
        conf["spark.cassandra.connection.ssl.trustStore.path"] = str(path)
        conf["spark.cassandra.connection.ssl.trustStore.type"] = "PKCS12"
        conf["spark.cassandra.connection.ssl.trustStore.password"] = password
    if settings.cassandra_tls_cert_file and settings.cassandra_tls_key_file:
        path, password = java_keystore(
            settings, settings.cassandra_tls_cert_file, settings.cassandra_tls_key_file
        )
        conf["spark.cassandra.connection.ssl.clientAuth.enabled"] = "true"
        conf["spark.cassandra.connection.ssl.keyStore.path"] = str(path)
        conf["spark.cassandra.connection.ssl.keyStore.type"] = "PKCS12"
        conf["spark.cassandra.connection.ssl.keyStore.password"] = password
    return conf


def pem_certificates(text: str) -> list[str]:
    """Each certificate of a PEM bundle, in order."""
    return _PEM_CERTIFICATE.findall(text)


def java_truststore(settings: Settings, ca_file: Path) -> tuple[Path, str]:
    """A PKCS#12 trust store of every certificate in ``ca_file``, and its password."""
    certificates = pem_certificates(ca_file.read_text())
    if not certificates:
        raise TrendoffError(f"{ca_file} holds no PEM certificate", hint="give a PEM CA bundle")
    store = _private_path(settings, "cassandra-truststore.p12")
    store.unlink(missing_ok=True)
    password = secrets.token_urlsafe(24)
    keytool = _tool("keytool")
    for number, certificate in enumerate(certificates):
        single = _private_file(settings, f"ca-{number}.pem", certificate + "\n")
        _run(
            [
                keytool,
                "-importcert",
                "-noprompt",
                "-alias",
                f"trendoff-ca-{number}",
                "-file",
                str(single),
                "-keystore",
                str(store),
                "-storetype",
                "PKCS12",
                "-storepass:env",
                _PASSWORD_VARIABLE,
            ],
            password,
        )
        single.unlink()
    return store, password


def java_keystore(settings: Settings, cert_file: Path, key_file: Path) -> tuple[Path, str]:
    """A PKCS#12 key store of the client certificate and key, and its password."""
    store = _private_path(settings, "cassandra-keystore.p12")
    password = secrets.token_urlsafe(24)
    _run(
        [
            _tool("openssl"),
            "pkcs12",
            "-export",
            "-in",
            str(cert_file),
            "-inkey",
            str(key_file),
            "-out",
            str(store),
            "-passout",
            f"env:{_PASSWORD_VARIABLE}",
        ],
        password,
    )
    store.chmod(0o600)
    return store, password


def _tls_dir(settings: Settings) -> Path:
    directory = settings.state_dir / "tls"
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    return directory


def _private_path(settings: Settings, name: str) -> Path:
    """A file of this process only (two jobs never share a store with different passwords),
    removed when the process exits."""
    path = _tls_dir(settings) / f"{os.getpid()}-{name}"
    atexit.register(_remove, path)
    return path


def _private_file(settings: Settings, name: str, content: str) -> Path:
    path = _private_path(settings, name)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)
    return path


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise TrendoffError(
            f"`{name}` was not found on PATH; it converts the TLS files for the Spark "
            "Cassandra connector",
            hint="install a JDK (keytool) and openssl, or turn TRENDOFF_CASSANDRA_TLS off",
        )
    return path


def _run(command: list[str], password: str) -> None:
    completed = subprocess.run(
        command,
        env={**os.environ, _PASSWORD_VARIABLE: password},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip().splitlines()
        raise TrendoffError(
            f"building a Java key store for Cassandra TLS failed: "
            f"{detail[-1] if detail else completed.returncode}",
            hint="check the TRENDOFF_CASSANDRA_TLS_* files (PEM)",
        )
