"""The console's shipped build (app/console_assets) is exactly what its source builds to (issue 12): a fresh
`npm ci && npm run build` of console/ in a temporary directory must produce the same files, byte for byte. So
nobody ships assets edited by hand or built from a source that was not committed."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "console"
SHIPPED = ROOT / "app" / "console_assets"
NPM = shutil.which("npm")


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.skipif(NPM is None, reason="npm is not installed (Node 20+); it is needed to rebuild the console")
def test_shipped_console_assets_equal_a_fresh_build(tmp_path: Path) -> None:
    work = tmp_path / "console"
    shutil.copytree(SOURCE, work, ignore=shutil.ignore_patterns("node_modules", "dist"))
    env = {**os.environ, "npm_config_audit": "false", "npm_config_fund": "false", "CI": "1"}
    for cmd in ([NPM, "ci", "--no-audit", "--no-fund", "--loglevel=error"], [NPM, "run", "build"]):
        done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{' '.join(cmd[1:])} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    fresh, shipped = digests(tmp_path / "app" / "console_assets"), digests(SHIPPED)
    assert fresh, "the build produced nothing"
    changed = sorted(k for k in fresh.keys() & shipped.keys() if fresh[k] != shipped[k])
    assert (sorted(fresh.keys() - shipped.keys()), sorted(shipped.keys() - fresh.keys()), changed) == ([], [], []), \
        "app/console_assets differs from a fresh build of console/: run `npm ci && npm run build` in console/ " \
        "and commit app/console_assets (new, missing, changed files above)"


def test_every_shipped_asset_is_package_data() -> None:
    """`pip install` (a wheel) carries the whole console: every built file matches a package-data pattern."""
    import fnmatch
    import tomllib

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["app"]
    files = [str(p.relative_to(ROOT / "app")) for p in SHIPPED.rglob("*") if p.is_file()]
    assert files
    missing = [f for f in files if not any(fnmatch.fnmatch(f, pat) and f.count("/") == pat.count("/")
                                           for pat in patterns)]
    assert missing == [], f"not in [tool.setuptools.package-data] app: {missing}"
