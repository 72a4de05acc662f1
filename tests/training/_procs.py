"""Helpers for tests that run training in subprocesses: free ports, bounded runs, output parsing."""

import json
import os
import socket
import subprocess
import sys

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_worker.py")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(WORKER)))


def free_ports(count):
    """`count` distinct loopback ports that were free a moment ago."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def env(**extra):
    e = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=REPO, CUDA_VISIBLE_DEVICES="")
    e.pop("TF_CONFIG", None)
    e.update(extra)
    return e


def worker_command(*args):
    return [sys.executable, WORKER, *map(str, args)]


def start(args, log_path, **extra_env):
    log = open(log_path, "w")
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env(**extra_env), cwd=REPO)


def result_of(log_path):
    """The JSON after the last "RESULT " line of a worker's log."""
    with open(log_path) as f:
        lines = [line for line in f if line.startswith("RESULT ")]
    assert lines, f"no RESULT in {log_path}:\n" + open(log_path).read()[-3000:]
    return json.loads(lines[-1][len("RESULT ") :])
