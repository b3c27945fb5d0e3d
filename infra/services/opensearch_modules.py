"""Modules of the full OpenSearch distribution, added to the integ-test zip.

The integ-test zip has only transport-netty4. An app written against a real
OpenSearch also expects painless scripts, the language analyzers
(`english`, ...), `_delete_by_query` / `_update_by_query` / `_reindex` and the
mapper-extras field types. Their jars are on Maven Central; a module is a
folder of jars plus the plugin descriptor the build would have generated,
and, where the module needs permissions, its security policy.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from infra.services.jvm import mvn

POM = Path(__file__).resolve().parent / "opensearch-modules-pom.xml"


@dataclass(frozen=True)
class Module:
    name: str
    classname: str
    description: str
    jar_prefixes: tuple[str, ...]
    extends: str = ""
    policy: str = ""


MODULES = (
    Module(
        "lang-painless",
        "org.opensearch.painless.PainlessPlugin",
        "An easy, safe and fast scripting language for OpenSearch",
        ("lang-painless-", "opensearch-scripting-painless-spi-", "antlr4-runtime-", "asm-"),
        # Painless compiles scripts into classes of its own class loader.
        policy='grant {\n  permission java.lang.RuntimePermission "createClassLoader";\n'
        '  permission java.lang.RuntimePermission "getClassLoader";\n};\n',
    ),
    Module(
        "analysis-common",
        "org.opensearch.analysis.common.CommonAnalysisPlugin",
        'Adds "built in" analyzers to OpenSearch.',
        ("analysis-common-",),
        extends="lang-painless",  # it contributes painless analysis extensions
    ),
    Module(
        "reindex",
        "org.opensearch.index.reindex.ReindexPlugin",
        "The Reindex module adds APIs to reindex from one index to another "
        "or update documents in place.",
        (
            "reindex-client-",
            "opensearch-rest-client-",
            "opensearch-ssl-config-",
            "httpclient-",
            "httpcore-",
            "httpasyncclient-",
            "commons-codec-",
            "commons-logging-",
        ),
        # Reindex from a remote cluster goes through the REST client.
        policy='grant {\n  permission java.net.SocketPermission "*", "connect";\n};\n',
    ),
    Module(
        "mapper-extras",
        "org.opensearch.index.mapper.MapperExtrasPlugin",
        "Adds advanced field mappers",
        ("mapper-extras-client-",),
    ),
)


def modules_installed(home: Path) -> bool:
    return all(
        (home / "modules" / m.name / "plugin-descriptor.properties").exists() for m in MODULES
    )


def install_modules(home: Path, version: str, staging: Path, log_file: Path) -> None:
    """Fetch the modules' jars with Maven and lay them out under `home`/modules/."""
    shutil.rmtree(staging, ignore_errors=True)
    mvn(
        [
            "-f",
            str(POM),
            f"-Dopensearch.version={version}",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ],
        log_file,
        f"the OpenSearch {version} modules",
    )
    jars = sorted(staging.glob("*.jar"))
    for module in MODULES:
        folder = home / "modules" / module.name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        folder.chmod(0o755)
        for jar in jars:
            if jar.name.startswith(module.jar_prefixes):
                shutil.copy2(jar, folder / jar.name)
                (folder / jar.name).chmod(0o644)
        (folder / "plugin-descriptor.properties").write_text(_descriptor(module, version))
        if module.policy:
            (folder / "plugin-security.policy").write_text(module.policy)
        for written in folder.iterdir():
            written.chmod(0o644)
    shutil.rmtree(staging, ignore_errors=True)


def _descriptor(module: Module, version: str) -> str:
    return (
        "# written by infra/services/opensearch_modules.py, as the OpenSearch build would\n"
        f"description={module.description}\n"
        f"version={version}\n"
        f"name={module.name}\n"
        f"classname={module.classname}\n"
        "java.version=11\n"
        f"opensearch.version={version}\n"
        "custom.foldername=\n"
        f"extended.plugins={module.extends}\n"
        "has.native.controller=false\n"
    )
