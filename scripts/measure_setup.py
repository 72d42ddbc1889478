#!/usr/bin/env python
"""Measure what each install profile costs: a fresh venv, `pip install -c constraints.txt
-e ".[EXTRAS]"`, its size on disk and the time it took; with --commands, also the time of
the README's commands run in the repository's own .venv. Writes docs/generated/setup.json,
which the README's setup table is generated from (scripts/docs_site.py --readme).

    python scripts/measure_setup.py                     # core, fast, docs, in a temporary folder
    python scripts/measure_setup.py --profiles dev      # the whole dev extra (about 6 GB)
    python scripts/measure_setup.py --commands docs,test   # also time these README commands
    python scripts/measure_setup.py --commands report --fresh   # its first run sets .venv up
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "generated" / "setup.json"
PROFILES = {"core": "", "fast": "fast", "docs": "docs", "torch": "torch", "dev": "dev"}
# The README's commands, run in the repository's .venv (already set up), as a user would.
COMMANDS = {
    "report": ["bash", "scripts/dev.sh", "report"],
    "report --quick": ["bash", "scripts/dev.sh", "report", "--quick"],
    "test": ["bash", "scripts/dev.sh", "test", "-q", "-p", "no:cacheprovider"],
    "docs": ["bash", "scripts/dev.sh", "docs"],
}


def size_bytes(path: Path) -> int:
    """Bytes on disk under `path` (hard links counted once), as `du` reports them."""
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def gpu_only_bytes(venv: Path) -> int:
    """Bytes of the packages torch's default Linux wheel pulls in for GPUs only (the CUDA
    libraries, triton), which torch's CPU-only wheels leave out."""
    site = next(venv.glob("lib/python*/site-packages"))
    paths = [p for p in site.iterdir() if p.name.lower().startswith(("nvidia", "triton"))]
    return sum(size_bytes(p) for p in paths)


def measure_profile(name: str, where: Path) -> dict:
    venv = where / f"venv-{name}"
    extras = PROFILES[name]
    target = f".[{extras}]" if extras else "."
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
         "-c", str(ROOT / "constraints.txt"), "-e", target],
        cwd=ROOT, check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    freeze = subprocess.run(
        [str(venv / "bin" / "pip"), "freeze", "--exclude-editable"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    record = {
        "install": f'pip install -e "{target}"',
        "seconds": round(seconds, 1),
        "bytes": size_bytes(venv),
        "packages": len(freeze),
    }
    shutil.rmtree(venv)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", default="core,fast,docs", help="comma-separated, of: "
                        + ", ".join(PROFILES))  # fmt: skip
    parser.add_argument("--commands", default="", help="also time these README commands, of: "
                        + ", ".join(COMMANDS) + " (each run twice: set-up included, then not)")  # fmt: skip
    parser.add_argument("--fresh", action="store_true", help="delete .venv (or .venv-docs for "
                        "docs) before each command's first run, so that run includes its set-up "
                        "as on a fresh clone; the command sets it up again")  # fmt: skip
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    data = json.loads(args.out.read_text()) if args.out.exists() else {}
    data["machine"] = (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    profiles = data.setdefault("profiles", {})
    with tempfile.TemporaryDirectory(prefix="ref_cnn-setup-") as tmp:
        for name in filter(None, args.profiles.split(",")):
            profiles[name] = measure_profile(name, Path(tmp))
            print(name, profiles[name], flush=True)
    venv = ROOT / ".venv"
    if venv.exists():
        data["dev_venv_bytes"] = size_bytes(venv.resolve())
        data["gpu_only_bytes"] = gpu_only_bytes(venv.resolve())
    commands = data.setdefault("commands", {})
    for name in filter(None, args.commands.split(",")):
        times = []
        if args.fresh:
            shutil.rmtree(ROOT / (".venv-docs" if name == "docs" else ".venv"), ignore_errors=True)
        for _ in range(2):  # the first run sets its venv up if it has to, the second does not
            start = time.perf_counter()
            subprocess.run(COMMANDS[name], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            times.append(round(time.perf_counter() - start, 1))
        commands[name] = {"first": times[0], "seconds": times[1]}
        print(name, commands[name], flush=True)
    sys.path.insert(0, str(ROOT))
    from ref_cnn._io import write_atomic

    write_atomic(args.out, json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
