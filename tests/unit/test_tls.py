"""TLS settings reach every client: the Python Cassandra driver, kafka-python, Spark's Kafka
source and the Spark Cassandra connector (whose Java stores are built here with the real keytool
and openssl and read back with them). The local stack has no TLS listener, so this checks the
wiring only; no TLS handshake is made."""

from __future__ import annotations

import os
import ssl
import subprocess
from pathlib import Path

import pytest
from kafka import KafkaConsumer
from pydantic import ValidationError

from pipeline.cassandra import build_cluster
from pipeline.spark import SECRET_CONF_KEYS, spark_conf
from pipeline.tls import (
    cassandra_ssl_context,
    kafka_client_options,
    pem_certificates,
    spark_cassandra_tls_conf,
    spark_kafka_options,
)
from tests.conftest import REPO_ROOT


def openssl(*arguments: str, cwd: Path) -> None:
    subprocess.run(["openssl", *arguments], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A throw-away CA, a second CA (a bundle of two) and a client certificate it signed."""
    root = tmp_path_factory.mktemp("pki")
    for name in ("ca", "other-ca"):
        openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", f"/CN=trendoff-test-{name}", "-keyout", f"{name}.key", "-out", f"{name}.pem",
            cwd=root,
        )  # fmt: skip
    (root / "bundle.pem").write_text(
        (root / "ca.pem").read_text() + (root / "other-ca.pem").read_text()
    )
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=trendoff-client",
        "-keyout", "client.key", "-out", "client.csr", cwd=root,
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", "client.pem", cwd=root,
    )  # fmt: skip
    return {
        "ca": root / "bundle.pem",
        "cert": root / "client.pem",
        "key": root / "client.key",
    }


def test_tls_is_off_unless_asked_for(make_settings) -> None:
    settings = make_settings()
    assert cassandra_ssl_context(settings) is None
    assert build_cluster(settings).ssl_context is None
    assert kafka_client_options(settings) == {"bootstrap_servers": "127.0.0.1:9092"}
    assert spark_kafka_options(settings) == {"kafka.bootstrap.servers": "127.0.0.1:9092"}
    assert spark_cassandra_tls_conf(settings) == {}


def test_the_cassandra_driver_verifies_nodes_with_the_given_ca(make_settings, pki) -> None:
    settings = make_settings(
        cassandra_tls=True,
        cassandra_tls_ca_file=pki["ca"],
        cassandra_tls_cert_file=pki["cert"],
        cassandra_tls_key_file=pki["key"],
    )
    cluster = build_cluster(settings)
    context = cluster.ssl_context
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    subjects = {
        dict(item[0] for item in ca["subject"])["commonName"] for ca in context.get_ca_certs()
    }
    assert subjects == {"trendoff-test-ca", "trendoff-test-other-ca"}


def test_kafka_python_clients_get_the_ssl_options(make_settings, pki) -> None:
    settings = make_settings(
        kafka_security_protocol="SSL",
        kafka_tls_ca_file=pki["ca"],
        kafka_tls_cert_file=pki["cert"],
        kafka_tls_key_file=pki["key"],
    )
    options = kafka_client_options(settings)
    assert options == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "SSL",
        "ssl_check_hostname": True,
        "ssl_cafile": str(pki["ca"]),
        "ssl_certfile": str(pki["cert"]),
        "ssl_keyfile": str(pki["key"]),
    }
    # Names kafka-python knows (a misspelt option would only fail against a TLS broker).
    assert set(options) <= set(KafkaConsumer.DEFAULT_CONFIG)


def test_spark_kafka_gets_pem_stores(make_settings, pki, tmp_path) -> None:
    settings = make_settings(
        state_dir=tmp_path,
        kafka_security_protocol="SSL",
        kafka_tls_ca_file=pki["ca"],
        kafka_tls_cert_file=pki["cert"],
        kafka_tls_key_file=pki["key"],
    )
    options = spark_kafka_options(settings)
    keystore = Path(options.pop("kafka.ssl.keystore.location"))
    assert options == {
        "kafka.bootstrap.servers": "127.0.0.1:9092",
        "kafka.security.protocol": "SSL",
        "kafka.ssl.truststore.type": "PEM",
        "kafka.ssl.truststore.location": str(pki["ca"]),
        "kafka.ssl.keystore.type": "PEM",
    }
    # Kafka's PEM key store: the key first, then the certificate, readable by its owner only.
    text = keystore.read_text()
    assert text.index("PRIVATE KEY-----") < text.index("BEGIN CERTIFICATE")
    assert pem_certificates(text) == pem_certificates(pki["cert"].read_text())
    assert keystore.stat().st_mode & 0o777 == 0o600


def test_the_spark_connector_gets_java_stores_it_can_open(make_settings, pki, tmp_path) -> None:
    settings = make_settings(
        state_dir=tmp_path,
        cassandra_tls=True,
        cassandra_tls_ca_file=pki["ca"],
        cassandra_tls_cert_file=pki["cert"],
        cassandra_tls_key_file=pki["key"],
    )
    conf = spark_cassandra_tls_conf(settings)
    assert conf["spark.cassandra.connection.ssl.enabled"] == "true"
    assert conf["spark.cassandra.connection.ssl.clientAuth.enabled"] == "true"
    passwords = {key for key in conf if key.endswith("Store.password")}
    assert passwords == {
        "spark.cassandra.connection.ssl.trustStore.password",
        "spark.cassandra.connection.ssl.keyStore.password",
    }
    assert passwords <= SECRET_CONF_KEYS  # kept off the JVM's command line
    truststore = Path(conf["spark.cassandra.connection.ssl.trustStore.path"])
    keystore = Path(conf["spark.cassandra.connection.ssl.keyStore.path"])
    assert (tmp_path / "tls").stat().st_mode & 0o777 == 0o700
    trust_password = conf["spark.cassandra.connection.ssl.trustStore.password"]
    key_password = conf["spark.cassandra.connection.ssl.keyStore.password"]
    listed = subprocess.run(
        ["keytool", "-list", "-keystore", str(truststore), "-storetype", "PKCS12",
         "-storepass:env", "STORE_PASSWORD"],
        env={**os.environ, "STORE_PASSWORD": trust_password},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "trendoff-ca-0" in listed and "trendoff-ca-1" in listed
    assert "trustedCertEntry" in listed
    exported = subprocess.run(
        ["openssl", "pkcs12", "-in", str(keystore), "-nokeys", "-passin", "env:STORE_PASSWORD"],
        env={**os.environ, "STORE_PASSWORD": key_password},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert pem_certificates(exported) == pem_certificates(pki["cert"].read_text())
    assert keystore.stat().st_mode & 0o777 == 0o600


def test_spark_conf_carries_the_connector_tls_settings(make_settings, pki) -> None:
    settings = make_settings(
        state_dir=REPO_ROOT / ".trendoff", cassandra_tls=True, cassandra_tls_ca_file=pki["ca"]
    )
    conf = spark_conf(settings, "trendoff-tls-test")
    assert conf["spark.cassandra.connection.ssl.enabled"] == "true"
    assert Path(conf["spark.cassandra.connection.ssl.trustStore.path"]).exists()


@pytest.mark.parametrize("side", ["cassandra", "kafka"])
def test_a_client_certificate_needs_its_key(make_settings, pki, side: str) -> None:
    with pytest.raises(ValidationError, match="go together"):
        make_settings(**{f"{side}_tls_cert_file": pki["cert"]})
