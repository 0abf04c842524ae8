#!/usr/bin/env python3
"""summary.json of one phase of scripts/check-gpu.sh, from the files it wrote.

    check-gpu-summary.py PHASE OUT [--final]    write OUT/summary.json (--final: print it too)
    check-gpu-summary.py --count-tests JUNIT     print "passed failed skipped"

check-gpu.sh calls it after every step, so a phase that is cut short still
leaves a summary; only the last call passes --final. The verdict is "failed"
when a step failed or ran out of time, "incomplete" when the phase never
finished, "no-gpu" when nothing failed but no GPU was there, else "ok".
docs/gpu-check.md explains every field. Standard library only.
"""
import csv
import json
import os
import re
import sys
import xml.etree.ElementTree as ET


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return None


def load_json(path):
    text = read(path)
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def count_tests(junit):
    """{passed, failed, skipped, failed_names, skipped_examples} from CTest's JUnit file."""
    tests = {"passed": 0, "failed": 0, "skipped": 0, "failed_names": [], "skipped_examples": []}
    if not os.path.exists(junit):
        return tests
    try:
        cases = ET.parse(junit).getroot().iter("testcase")
    except ET.ParseError:
        return tests
    for case in cases:
        status = case.get("status", "run")
        skipped = case.find("skipped")
        if case.find("failure") is not None or status == "fail":
            tests["failed"] += 1
            tests["failed_names"].append(case.get("name"))
        elif skipped is not None or status in ("notrun", "disabled"):
            tests["skipped"] += 1
            if len(tests["skipped_examples"]) < 5:
                output = case.findtext("system-out") or ""
                reason = re.search(r"Skipped\s*\n?(.*)", output)
                tests["skipped_examples"].append(
                    {"name": case.get("name"),
                     "reason": (reason.group(1).strip() if reason else
                                (skipped.get("message", "") if skipped is not None else ""))[:200]})
        else:
            tests["passed"] += 1
    return tests


def machine(out):
    """The GPU (nvidia-smi's query, driver and clocks included) and the tool versions."""
    info = {}
    text = read(os.path.join(out, "gpu.csv"))
    if text:
        rows = list(csv.reader(text.splitlines()))
        if len(rows) > 1:
            info["gpu"] = {k.strip(): v.strip() for k, v in zip(rows[0], rows[1])}
    for line in (read(os.path.join(out, "toolchain.txt")) or "").splitlines():
        key, _, value = line.partition(": ")
        info[key] = value
    return info


def cpu_seconds(out):
    """User + system CPU seconds of the phase and its children (bash `times`)."""
    text = read(os.path.join(out, "times.txt"))
    if not text:
        return None
    total = 0.0
    for minutes, seconds in re.findall(r"(\d+)m([\d.]+)s", text):
        total += int(minutes) * 60 + float(seconds)
    return round(total, 1)


def dependencies(out):
    """Where CMake found each dependency, from the configure log's "danlu: ..." lines."""
    text = read(os.path.join(out, "configure.log")) or ""
    return [line[3:].strip() for line in text.splitlines()
            if line.startswith("-- danlu: ")]


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def profile(out, name="profile.json"):
    """danlu profile: per op, direction, math and (where named) kernel the median
    ours/cuDNN time ratio, per op the median roofline fraction."""
    report = load_json(os.path.join(out, name))
    if not report:
        return None
    ratios, fractions = {}, {}
    for row in report["rows"]:
        key = row["op"] + " " + row["direction"] + ("" if row["math"] == "fp32" else " " + row["math"])
        if row.get("kernel") and name != "profile.json":
            key += " [" + row["kernel"] + "]"
        ratios.setdefault(key, []).append(row.get("ratio_ours_vendor"))
        fractions.setdefault(row["op"], []).append(row.get("roofline_fraction"))
    return {"device": report["device"]["name"], "rows": len(report["rows"]),
            "roofline": report["roofline"],
            "median_ratio_ours_vendor": {k: median(v) for k, v in ratios.items()
                                         if median(v) is not None},
            "median_roofline_fraction": {k: median(v) for k, v in fractions.items()}}


def step_profiles(out):
    result = {}
    for config in ("fashion_cnn", "fashion_resnet20"):
        report = load_json(os.path.join(out, "step-profile", config, "profile.json"))
        if report:
            result[config] = {
                "step_ms": report["step_ms"], "gpu_step_ms": report.get("gpu_step_ms"),
                "top": [[r["scope"], r["pass"], r.get("gpu_ms", r["host_ms"])]
                        for r in report["rows"][:5]]}
    return result


def sanitizers(out):
    result = {}
    for tool in ("memcheck", "racecheck", "initcheck", "synccheck"):
        text = read(os.path.join(out, "sanitizer", tool + ".tsv"))
        if text is None:
            continue
        runs = {}
        for line in text.splitlines():
            name, rc, errors = (line.split("\t") + ["", ""])[:3]
            runs[name] = {"exit": int(rc) if rc.lstrip("-").isdigit() else None,
                          "errors": int(errors) if errors.isdigit() else None,
                          "log": f"sanitizer/{tool}-{name}.log"}
        result[tool] = {"errors": sum(r["errors"] or 0 for r in runs.values()),
                        "unfinished": sorted(n for n, r in runs.items() if r["errors"] is None),
                        "runs": runs}
    return result


def verdict(steps, final):
    if any(s["status"] in ("failed", "timeout") for s in steps):
        return "failed"
    if not final:
        return "incomplete"
    if any(s["status"] == "no-gpu" for s in steps):
        return "no-gpu"
    return "ok"


def summarize(phase, out, final):
    steps = []
    for line in (read(os.path.join(out, "steps.tsv")) or "").splitlines():
        name, status, seconds, detail = (line.split("\t", 3) + ["", "", ""])[:4]
        steps.append({"step": name, "status": status,
                      "seconds": int(seconds) if seconds.isdigit() else None, "detail": detail})
    seconds = sum(s["seconds"] or 0 for s in steps)
    cpu = cpu_seconds(out)
    summary = {"phase": phase, "verdict": verdict(steps, final), "final": final,
               "seconds": seconds, "cpu_seconds": cpu,
               "cpu_seconds_per_16_cores": round(cpu / 16, 1) if cpu is not None else None,
               "machine": machine(out), "dependencies": dependencies(out), "steps": steps}
    if phase == "build-test":
        summary["gpu_tests"] = count_tests(os.path.join(out, "ctest-junit.xml"))
    else:
        summary.update(profile=profile(out), conv_ladder=profile(out, "conv-ladder.json"),
                       step_profiles=step_profiles(out),
                       side_by_side=load_json(os.path.join(out, "side_by_side.json")),
                       sanitizers=sanitizers(out))
    path = os.path.join(out, "summary.json")
    with open(path + ".tmp", "w") as f:
        json.dump(summary, f, indent=2)
    os.replace(path + ".tmp", path)  # a reader never sees half a file
    return summary


def show(s, out):
    print(f"\n==== danlu GPU check, {s['phase']}: {s['verdict'].upper()} ====")
    gpu = s["machine"].get("gpu")
    if gpu:
        print("  " + ", ".join(f"{k} {v}" for k, v in gpu.items()))
    for step in s["steps"]:
        print("  %-26s %-8s %4s s  %s" % (step["step"], step["status"], step["seconds"],
                                           step["detail"][:110]))
    for line in s["dependencies"]:
        print("  " + line)
    tests = s.get("gpu_tests")
    if tests:
        print("  gpu tests: %d passed, %d failed, %d skipped" % (
            tests["passed"], tests["failed"], tests["skipped"]))
        for name in tests["failed_names"][:10]:
            print("    failed: " + name)
    for tool, t in (s.get("sanitizers") or {}).items():
        print("  %s: %d errors%s" % (tool, t["errors"], ", unfinished: " + " ".join(t["unfinished"])
                                    if t["unfinished"] else ""))
    for config, p in (s.get("step_profiles") or {}).items():
        print("  step profile %s: %.3f ms per step" % (config, p["step_ms"]))
    if s.get("profile"):
        print("  profile: median ours/cuDNN: " + ", ".join(
            "%s %.2f" % kv for kv in s["profile"]["median_ratio_ours_vendor"].items()))
    if s.get("conv_ladder"):
        print("  conv ladder: median ours/cuDNN: " + ", ".join(
            "%s %.2f" % kv for kv in s["conv_ladder"]["median_ratio_ours_vendor"].items()))
    if s["cpu_seconds"] is not None:
        print(f"  {s['seconds']} s wall, {s['cpu_seconds']} CPU-seconds "
              f"({s['cpu_seconds_per_16_cores']} s on 16 cores)")
    print("  logs and summary.json in " + out)


def main(argv):
    if len(argv) == 3 and argv[1] == "--count-tests":
        t = count_tests(argv[2])
        print(t["passed"], t["failed"], t["skipped"])
        return 0
    if len(argv) not in (3, 4) or argv[1] not in ("build-test", "perf"):
        print(__doc__, file=sys.stderr)
        return 2
    final = argv[3:] == ["--final"]
    s = summarize(argv[1], argv[2], final)
    if final:
        show(s, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
