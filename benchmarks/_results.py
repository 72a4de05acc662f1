"""Writes a benchmark's results: NAME.json and NAME.md under the output folder, and prints the table."""

import json
import os


def write_results(out, name, results, lines):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, f"{name}.json"), "w") as f:
        json.dump(results, f, indent=2)
    with open(os.path.join(out, f"{name}.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
