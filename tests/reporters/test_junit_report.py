"""JUnit XML: one test case per rule, failures for findings at or over the gate, valid XML whatever the names."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import splitcheck as sc
from splitcheck.baseline import apply_baseline, baseline_from_report
from splitcheck.reporters.junit import render_junit
from splitcheck.scanners import registered_scanners


def expected_cases(report) -> dict[str, str]:
    """Rule code -> the scanner status its test case reflects."""
    status = {r.name: r.status for r in report.scanners}
    return {code: status[name] for name, cls in registered_scanners().items() for code in cls.rules}


def cases(xml: str) -> tuple[ET.Element, dict[str, ET.Element]]:
    root = ET.fromstring(xml)
    (suite,) = root.findall("testsuite")
    return suite, {case.get("name").split()[0]: case for case in suite.findall("testcase")}


def leaky_report(image_splits, **kwargs):
    shutil.copy(image_splits["train"] / "cat/cat_02.png", image_splits["val"] / "dog/leak\x1b<&>.png")
    shutil.copy(image_splits["train"] / "cat/cat_03.png", image_splits["train"] / "cat/cat_03_copy.png")
    return sc.scan(train=str(image_splits["train"]), val=str(image_splits["val"]), config={}, **kwargs)


def test_one_case_per_rule_and_a_failure_per_gated_rule(image_splits):
    report = leaky_report(image_splits)
    assert {f.code for f in report.findings} >= {"LK101", "DQ201"}
    suite, by_code = cases(render_junit(report))
    expected = expected_cases(report)
    assert set(by_code) == set(expected)
    skipped = {code for code, case in by_code.items() if case.find("skipped") is not None}
    assert skipped == {code for code, status in expected.items() if status == "skipped"}
    failed = {code for code, case in by_code.items() if case.find("failure") is not None}
    assert failed == {f.code for f in report.gated_findings()}
    assert "LK101" in failed and "DQ201" not in failed
    assert suite.get("tests") == str(len(expected))
    assert suite.get("failures") == str(len(failed))
    assert suite.get("skipped") == str(len(skipped))
    assert suite.get("errors") == "0"
    failure = by_code["LK101"].find("failure")
    assert failure.get("type") == "error"
    assert "leak?<&>.png" in failure.text  # the control character is replaced, the rest kept as text
    assert "[info, below the gate] DQ201" in by_code["DQ201"].find("system-out").text
    assert by_code["LK101"].get("classname") == "splitcheck.exact_duplicates"


def test_gate_at_info_fails_info_rules_too(image_splits):
    report = leaky_report(image_splits, fail_on="info")
    suite, by_code = cases(render_junit(report))
    assert by_code["DQ201"].find("failure") is not None
    assert suite.get("failures") == str(len({f.code for f in report.findings}))


def test_ignored_rules_are_skipped_and_baselined_findings_pass(image_splits):
    report = leaky_report(image_splits, ignore=["DQ"])
    _, by_code = cases(render_junit(report))
    assert by_code["DQ201"].find("skipped").get("message") == "ignored by the configuration"
    accepted = apply_baseline(report, baseline_from_report(report))
    suite, by_code = cases(render_junit(accepted))
    assert suite.get("failures") == "0"
    assert by_code["LK101"].find("system-out").text.startswith("[baselined] LK101")


def test_never_gate_has_no_failures(image_splits):
    report = leaky_report(image_splits, fail_on="never")
    suite, _ = cases(render_junit(report))
    assert suite.get("failures") == "0" and suite.get("tests") == str(len(expected_cases(report)))


def test_crashed_scanner_is_an_error_on_each_of_its_rules(image_splits, monkeypatch):
    from splitcheck.scanners.class_distribution import ClassDistributionScanner

    def boom(self, context):
        raise RuntimeError("kaput <here>")

    monkeypatch.setattr(ClassDistributionScanner, "run", boom)
    report = sc.scan(train=str(image_splits["train"]), val=str(image_splits["val"]), config={})
    suite, by_code = cases(render_junit(report))
    errored = {code for code, case in by_code.items() if case.find("error") is not None}
    assert errored == set(ClassDistributionScanner.rules)
    assert suite.get("errors") == str(len(errored))
    message = by_code["DS101"].find("error").get("message")
    assert message == "scanner class_distribution failed: RuntimeError: kaput <here>"
