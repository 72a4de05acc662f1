"""Rebuilds the table of device reports in benchmarks/devices/README.md from reports/*.json.

One row per report, oldest first (the first row is the machine the reports started on). Each
model column gives the p50 latency in ms at 1 thread and at the most threads measured. Needs only
Python's standard library, so it runs on the device that wrote the report.

Run: python benchmarks/devices/table.py
"""

import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
START, END = "<!-- reports: written by table.py -->", "<!-- /reports -->"


def _p50(model, threads):
    return next((r["p50_ms"] for r in model["latency"] if r["num_threads"] == threads), None)


def _cell(model):
    threads = sorted(r["num_threads"] for r in model["latency"])
    one, most = _p50(model, threads[0]), _p50(model, threads[-1])
    if len(threads) == 1:
        return f"{one:.2f} ({threads[0]}t)"
    return f"{one:.2f} ({threads[0]}t) / {most:.2f} ({threads[-1]}t)"


def table(reports):
    files = []
    for report, _ in reports:
        files += [m["file"] for m in report["models"] if m["file"] not in files]
    head = ["Device", "CPU", "Cores", "Load 1 min", "OS / arch", "LiteRT", *(f.removesuffix(".tflite") for f in files),
            "Report"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for report, path in reports:
        d = report["device"]
        models = {m["file"]: m for m in report["models"]}
        row = [
            report["name"],
            d["cpu_model"],
            str(d["cores"]),
            str(d["load_average"][0]) if d.get("load_average") else "?",
            f"{d['os']} {d['os_release']} / {d['machine']}",
            d["litert"] or "?",
            *(_cell(models[f]) if f in models else "" for f in files),
            f"[{path.name}](reports/{path.name})",
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main():
    paths = sorted((HERE / "reports").glob("*.json"))
    reports = sorted(((json.loads(p.read_text()), p) for p in paths), key=lambda rp: rp[0]["created"])
    readme = HERE / "README.md"
    text = readme.read_text()
    start, end = text.index(START) + len(START), text.index(END)
    readme.write_text(text[:start] + "\n" + table(reports) + "\n" + text[end:])
    print(f"{readme}: {len(reports)} report(s)")


if __name__ == "__main__":
    main()
