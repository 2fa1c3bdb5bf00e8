"""Linters with zero findings: hadolint on the Dockerfile, checkov on the Dockerfile
and on the rendered manifests. Each exception is justified where it is made
(`# checkov:skip=` in the Dockerfile, `checkov.io/skip*` annotations in deploy/k8s)."""
import json
import os

import pytest

from conftest import ROOT, render_text, run, tool

CHECKOV_ENV = {
    **os.environ,
    # Offline: no guideline download, no telemetry, no update check.
    "BC_SKIP_MAPPING": "TRUE",
    "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
}


def checkov():
    """checkov lives in its own venv (its pins clash with ours); run.sh puts it on PATH."""
    return tool("checkov")


def checkov_results(args):
    result = run([checkov(), *args, "--output", "json", "--skip-download"],
                 check=False, env=CHECKOV_ENV)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    return reports


def assert_clean(reports):
    failed = [(c["check_id"], c.get("resource"), c.get("file_line_range"))
              for r in reports for c in r["results"]["failed_checks"]]
    assert failed == [], failed
    assert sum(r["summary"]["passed"] for r in reports) > 20, "checkov ran almost no checks"
    for r in reports:
        for skipped in r["results"]["skipped_checks"]:
            reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
            assert len(reason) > 20, f"{skipped['check_id']} is skipped without a reason"


def test_hadolint_has_no_findings():
    result = run([tool("hadolint"), "--no-color", "Dockerfile"], check=False)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_hadolint_catches_a_finding(tmp_path):
    """hadolint really lints: an unpinned apt-get is reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y curl\n")
    result = run([tool("hadolint"), "--no-color", str(bad)], check=False)
    assert result.returncode != 0 and "DL3008" in result.stdout


def test_checkov_dockerfile():
    assert_clean(checkov_results(["--framework", "dockerfile", "-f", "Dockerfile"]))


@pytest.mark.parametrize("variant", ["base", "with-components", "scale-out", "postgres"])
def test_checkov_rendered_manifests(tmp_path, variant, with_components, scale_out, postgres):
    rendered = tmp_path / "rendered.yaml"
    base = os.path.join(ROOT, "deploy", "k8s")
    rendered.write_text(render_text({"base": base, "with-components": with_components, "scale-out": scale_out,
                                  "postgres": postgres}[variant]))
    assert_clean(checkov_results(["--framework", "kubernetes", "-f", str(rendered)]))
