#!/usr/bin/env python3
"""The system-test ratchet, and the per-class table of two runs.

  gate.py check RESULTS EXPECTED [--retry RETRY_RESULTS]
      RESULTS is a results folder of ../shared/systest/run.sh (its tests.tsv). EXPECTED lists, one per line,
      `TEST<TAB>reason` for every test known to fail with Oxeron's driver (TEST as printed below). Exit 0 when
      every failing test is listed and no listed test passed; 1 otherwise, naming each offender. A reason that
      starts with `flaky:` accepts either outcome. With --retry (a second run of the classes `failing-classes`
      names), an unlisted test fails the gate only when it failed both times, a listed one only when it passed
      both times.
  gate.py failing-classes RESULTS EXPECTED
      The classes with unlisted failures or listed tests that passed, one per line (what to run again for
      --retry).
  gate.py table BASELINE OXERON
      A markdown table of both runs, per class (passed / failed / skipped), with totals.
  gate.py regressions BASELINE OXERON
      Every test that passes with BASELINE but not with OXERON, with OXERON's message (`TEST<TAB>message`),
      the starting point of EXPECTED.

TEST is `Class.method` for plain tests and `Class.method [n] parameters` for parameterised ones (cut at the
first `{`, without object hashes), Class without its `io.aeron.` package.
"""
import csv
import re
import sys
from collections import OrderedDict

FAILING = ("FAIL", "INCOMPLETE")


def short(cls):
    return cls[len("io.aeron."):] if cls.startswith("io.aeron.") else cls


def test_name(cls, method, display):
    """The test's name in EXPECTED. A parameter display is cut at its first `{` and loses object hashes
    (`Supplier@1b2c3d`), since some tests print a hash map or an object there that changes from run to run."""
    name = "%s.%s" % (short(cls), method.split("(")[0])
    if not display.startswith("["):
        return name
    return name + " " + re.sub(r"@[0-9a-f]+", "", display.split("{")[0]).rstrip()


def load(results):
    """{test: (status, message)} and {class: (run status, time)} of one results folder."""
    tests = OrderedDict()
    with open(results + "/tests.tsv", encoding="utf-8", errors="replace") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(rows, None)
        for row in rows:
            if len(row) < 6:
                continue
            cls, method, display, status, _ms, message = row[:6]
            if status.startswith("CONTAINER_"):
                # A class-level failure (setup of the whole class): counts against the class's first test.
                tests["%s <class>" % short(cls)] = ("FAIL", message)
                continue
            tests[test_name(cls, method, display)] = (status, message)
    classes = OrderedDict()
    with open(results + "/summary.tsv", encoding="utf-8") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(rows, None)
        for row in rows:
            if row and row[0] != "TOTAL":
                classes[row[0]] = row[1:]
    return tests, classes


def load_expected(path):
    expected = OrderedDict()
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            if "\t" not in line:
                sys.exit("%s:%d: expected TEST<TAB>reason, got %r" % (path, number, line))
            name, reason = line.split("\t", 1)
            expected[name.strip()] = reason.strip()
    return expected


def unlisted_failures(tests, expected):
    return [(name, msg) for name, (status, msg) in tests.items() if status in FAILING and name not in expected]


def unexpected_passes(tests, expected):
    return [name for name, reason in expected.items()
            if tests.get(name, ("NOT_RUN", ""))[0] == "PASS" and not reason.startswith("flaky:")]


def check(results, expected_path, retry=None):
    tests, _ = load(results)
    expected = load_expected(expected_path)
    problems = []
    failures = unlisted_failures(tests, expected)
    again = load(retry)[0] if retry else {}
    if retry:
        failures = [(n, m) for n, m in failures if again.get(n, ("NOT_RUN", ""))[0] in FAILING]
    for name, message in failures:
        problems.append("FAILS, not in %s: %s\n    %s" % (expected_path, name, message[:300]))
    for name in unexpected_passes(tests, expected):
        if retry and again.get(name, ("NOT_RUN", ""))[0] != "PASS":
            continue
        problems.append("PASSES, remove it from %s: %s (%s)" % (expected_path, name, expected[name]))
    counts = OrderedDict((k, 0) for k in ("PASS", "FAIL", "SKIP", "INCOMPLETE"))
    for status, _ in tests.values():
        counts[status] = counts.get(status, 0) + 1
    listed = sum(1 for n, (s, _) in tests.items() if s in FAILING and n in expected)
    print("system tests: %d run: %d passed, %d failed (%d of them listed as expected), %d skipped, %d incomplete"
          % (len(tests), counts["PASS"], counts["FAIL"], listed, counts["SKIP"], counts["INCOMPLETE"]))
    for problem in problems:
        print(problem)
    print("system-test gate: %s" % ("FAILED" if problems else "passed"))
    return 1 if problems else 0


def failing_classes(results, expected_path):
    tests, _ = load(results)
    expected = load_expected(expected_path)
    classes = OrderedDict()
    names = [name for name, _ in unlisted_failures(tests, expected)] + unexpected_passes(tests, expected)
    for name in names:
        classes["io.aeron." + name.split(" ")[0].rsplit(".", 1)[0]] = True
    for cls in classes:
        print(cls)
    return 0


def counts_of(tests, cls):
    c = {"PASS": 0, "FAIL": 0, "SKIP": 0, "INCOMPLETE": 0}
    prefix = short(cls) + "."
    for name, (status, _) in tests.items():
        if name.startswith(prefix) or name == short(cls) + " <class>":
            c[status] = c.get(status, 0) + 1
    return c


def table(baseline, oxeron):
    base_tests, base_classes = load(baseline)
    ox_tests, ox_classes = load(oxeron)
    print("| class | Aeron C pass / fail / skip | Oxeron pass / fail / skip | Oxeron misses |")
    print("|---|---|---|---|")
    totals = [0] * 6
    for cls in sorted(set(base_classes) | set(ox_classes)):
        b = counts_of(base_tests, cls)
        o = counts_of(ox_tests, cls)
        b_fail = b["FAIL"] + b["INCOMPLETE"]
        o_fail = o["FAIL"] + o["INCOMPLETE"]
        misses = sum(1 for n, (s, _) in base_tests.items()
                     if s == "PASS" and n.startswith(short(cls) + ".")
                     and ox_tests.get(n, ("NOT_RUN",))[0] != "PASS")
        for i, v in enumerate((b["PASS"], b_fail, b["SKIP"], o["PASS"], o_fail, o["SKIP"])):
            totals[i] += v
        print("| %s | %d / %d / %d | %d / %d / %d | %s |" % (
            short(cls), b["PASS"], b_fail, b["SKIP"], o["PASS"], o_fail, o["SKIP"], misses or ""))
    all_misses = sum(1 for n, (s, _) in base_tests.items()
                     if s == "PASS" and ox_tests.get(n, ("NOT_RUN",))[0] != "PASS")
    print("| **total** | %d / %d / %d | %d / %d / %d | %d |" % tuple(totals + [all_misses]))
    return 0


def regressions(baseline, oxeron):
    base_tests, _ = load(baseline)
    ox_tests, _ = load(oxeron)
    for name, (status, _) in base_tests.items():
        ox_status, message = ox_tests.get(name, ("NOT_RUN", ""))
        if status == "PASS" and ox_status != "PASS":
            print("%s\t%s %s" % (name, ox_status, " ".join(message.split())[:200]))
    return 0


def main(argv):
    if len(argv) >= 4 and argv[1] == "check":
        retry = argv[argv.index("--retry") + 1] if "--retry" in argv else None
        return check(argv[2], argv[3], retry)
    if len(argv) == 4 and argv[1] == "failing-classes":
        return failing_classes(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "table":
        return table(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "regressions":
        return regressions(argv[2], argv[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
