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


def cpu_allocator():
    """TensorFlow's CPU allocator in this process: "BFC" (what `import tfaudio` asks for) or "default"."""
    import tensorflow as tf

    try:
        tf.config.experimental.get_memory_info("CPU:0")  # only the BFC allocator keeps statistics
    except ValueError:
        return "default"
    return "BFC"
