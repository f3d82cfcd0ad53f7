"""The README is the front door: its configuration table and its test command must stay true."""

from pathlib import Path

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"`INSIGHTGRAPH_{name.upper()}`" in readme, f"INSIGHTGRAPH_{name.upper()} is missing from README.md"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "    ./scripts/test\n" in readme
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec ./scripts/test")
