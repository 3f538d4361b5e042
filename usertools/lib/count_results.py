#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""usage: count_results.py BUILD_DIR MARKER MESON_RC

Counts the test cases of one meson test run in BUILD_DIR (meson's junit log and
the junit files tests wrote themselves, newer than MARKER) and prints
"N passed, N failed[, N skipped]"; exit 1 if any failed."""
import json, os, sys
import xml.etree.ElementTree as ET

build, marker, meson_rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = os.stat(marker).st_mtime


def status(tc):
    if tc.find("failure") is not None or tc.find("error") is not None:
        return "failed"
    if tc.find("skipped") is not None or tc.get("status") == "notrun":
        return "skipped"
    return "passed"


def cases(path):
    """[(suite, classname, name, status)] of every <testcase> in a junit file."""
    out = []
    root = ET.parse(path).getroot()
    for suite in root.iter("testsuite"):
        for tc in suite.findall("testcase"):
            out.append((suite.get("name", ""), tc.get("classname", ""), tc.get("name", ""), status(tc)))
    return out


def fresh(path):
    return os.path.exists(path) and os.stat(path).st_mtime >= start


main_log = os.path.join(build, "meson-logs", "testlog.junit.xml")
results = cases(main_log) if fresh(main_log) else []

try:
    tests = json.load(open(os.path.join(build, "meson-info", "intro-tests.json")))
except (OSError, ValueError):
    tests = []


def meson_test_for(path):
    """The meson test that wrote this junit file, if it can be told."""
    rel = os.path.relpath(path, build)
    absp = os.path.abspath(path)
    hits = []
    for t in tests:
        strings = [str(s) for s in (t.get("cmd") or [])] + [str(v) for v in (t.get("env") or {}).values()]
        if any(rel in s or absp in s for s in strings):
            hits.append(t)
    if len(hits) == 1:
        return hits[0]
    # Fall back on the directory name (test/usertools -> a test or suite "usertools").
    d = os.path.basename(os.path.dirname(absp))
    hits = [t for t in tests if t.get("protocol") != "gtest" and
            (d in t.get("name", "") or any(s.split(":")[-1] == d for s in t.get("suite", [])))]
    return hits[0] if len(hits) == 1 else None


extras = []
for dirpath, dirnames, filenames in os.walk(build):
    dirnames[:] = [d for d in dirnames if d not in ("meson-logs", "meson-private", "meson-info")]
    for f in filenames:
        if f.endswith(".junit.xml"):
            p = os.path.join(dirpath, f)
            if fresh(p):
                extras.append(p)

for path in sorted(extras):
    try:
        extra = cases(path)
    except (ET.ParseError, OSError) as e:
        print(f"note: unreadable {os.path.relpath(path, build)}: {e}", file=sys.stderr)
        continue
    known = {(c, n) for _, c, n, _ in results}
    if extra and all((c, n) in known for _, c, n, _ in extra):
        continue  # already in meson's log
    t = meson_test_for(path)
    if t is not None:
        name = t["name"]
        entry_cases = [s for s in results if s[2] == name or s[2].endswith(" / " + name)
                          or s[0].endswith(" / " + name)]
        entry_failed = any(s[3] == "failed" for s in entry_cases)
        results = [s for s in results if s not in entry_cases]
        if entry_failed and not any(s[3] == "failed" for s in extra):
            # The test failed beyond what its junit file says (crash, exit code).
            extra = extra + [("", "", name, "failed")]
    results += extra

passed = sum(1 for r in results if r[3] == "passed")
failed = sum(1 for r in results if r[3] == "failed")
skipped = sum(1 for r in results if r[3] == "skipped")
if meson_rc != 0 and failed == 0:
    print(f"note: meson test exited {meson_rc} with no failed test case recorded; counting it as one failure")
    failed = 1
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
sys.stdout.flush()
print(line, flush=True)
sys.exit(1 if failed else 0)
