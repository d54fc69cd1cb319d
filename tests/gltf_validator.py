"""Run the Khronos glTF validator (npm package ``gltf-validator``) on files we write.

The validator is pinned in ``tools/gltf-validator/package.json`` (+ ``package-lock.json``).
:func:`validate` installs it with ``npm ci`` the first time (when ``node_modules`` is
missing), then runs ``tools/gltf-validator/validate.mjs`` once for all files, which prints
one JSON report per file. Tests skip only when ``node`` or ``npm`` is not on PATH; a failed
install is an error, not a skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

TOOL_DIR = Path(__file__).resolve().parents[1] / "tools" / "gltf-validator"
_INSTALLED = TOOL_DIR / "node_modules" / "gltf-validator" / "package.json"


def missing_tool() -> str | None:
    """Why the validator cannot run here (node or npm absent), or None."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"'{tool}' is not on PATH; the glTF validator needs Node.js and npm"
    return None


def ensure_installed() -> None:
    """``npm ci`` into tools/gltf-validator/node_modules unless it is there already."""
    if _INSTALLED.is_file():
        return
    proc = subprocess.run(["npm", "ci", "--prefix", str(TOOL_DIR), "--no-audit", "--no-fund"],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 or not _INSTALLED.is_file():
        raise RuntimeError(f"npm ci --prefix {TOOL_DIR} failed (exit {proc.returncode}):\n"
                           f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


def validate(paths) -> list[dict]:
    """Validator reports (dicts, as the validator's JSON) for ``paths``, in order."""
    paths = [str(Path(p).resolve()) for p in paths]
    ensure_installed()
    proc = subprocess.run(["node", str(TOOL_DIR / "validate.mjs"), *paths],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"validate.mjs failed (exit {proc.returncode}): {proc.stderr}")
    reports = json.loads(proc.stdout)
    assert len(reports) == len(paths)
    return reports


def summary(report: dict) -> str:
    """One line: counts by severity, and the codes of every message."""
    issues = report["issues"]
    codes = sorted({f"{m['code']}@{m.get('pointer', '')}" for m in issues["messages"]})
    return (f"{report['uri']}: {issues['numErrors']} errors, {issues['numWarnings']} warnings, "
            f"{issues['numInfos']} infos, {issues['numHints']} hints"
            + (f" ({', '.join(codes)})" if codes else ""))
