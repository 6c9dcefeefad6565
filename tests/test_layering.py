"""The import graph points one way: policytrack (CLI) → scheduler → crawler → storage → core, and
policytrack (CLI) → web → storage → core (the web view reads storage only; the CLI starts it).

Checked on the source with ``ast`` (imports inside functions count too), so a lazy import cannot hide
an arrow running back up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package -> top-level project packages it must never import
FORBIDDEN = {
    "core": {"crawler", "storage", "scheduler", "policytrack", "web"},
    "storage": {"crawler", "scheduler", "policytrack", "web"},
    "crawler": {"scheduler", "policytrack", "web"},
    "scheduler": {"policytrack", "web"},
    "web": {"crawler", "scheduler", "policytrack"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_above_it(package: str) -> None:
    offences = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _imports(path) & FORBIDDEN[package]
        if bad:
            offences.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offences, "import arrows running back up:\n" + "\n".join(offences)


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from policytrack.cli import main\n    import scheduler.jobs\n")
    assert _imports(module) == {"policytrack", "scheduler"}
