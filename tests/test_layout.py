"""The package's shape as the design notes ask: layers import downwards only, one module renames files into place,
the runtime path never imports torch, no function is too complex, and the wheel ships no test support."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "siam_rt"


def _modules(sub: str = "") -> list[Path]:
    return sorted((PACKAGE / sub).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


@pytest.mark.parametrize("layer, forbidden", [("model", "siam_rt.evaluation"), ("evaluation", "siam_rt.timbre"),
                                              ("runtime", "torch"), ("engine", "torch")])
def test_layers_import_downwards_only(layer: str, forbidden: str) -> None:
    bad = {p.relative_to(PACKAGE).as_posix(): sorted(m for m in _imports(p) if m == forbidden
                                                    or m.startswith(forbidden + "."))
           for p in _modules(layer)}
    assert not {k: v for k, v in bad.items() if v}, f"{layer}/ imports {forbidden}"


def test_only_the_atomic_module_renames_files_into_place() -> None:
    """Every writer goes through siam_rt.io.atomic: no other module calls os.replace, os.rename or shutil.move,
    or renames a path."""
    found = []
    for path in _modules():
        if path == PACKAGE / "io" / "atomic.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value.id if isinstance(node.func.value, ast.Name) else ""
                if (owner, node.func.attr) in (("os", "replace"), ("os", "rename"), ("shutil", "move")) \
                        or node.func.attr == "rename":
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not found, found


def test_no_module_loads_a_pickle() -> None:
    """np.load only with allow_pickle=False, torch.load only with weights_only=True, and no pickle module."""
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            where = f"{path.relative_to(PACKAGE)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                if any(n in ("pickle", "cPickle", "dill", "joblib") for n in names if n):
                    found.append(f"{where} imports a pickle module")
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load"
                    and isinstance(node.func.value, ast.Name)):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            if node.func.value.id in ("np", "numpy"):
                flag = keywords.get("allow_pickle")
                if not (isinstance(flag, ast.Constant) and flag.value is False):
                    found.append(f"{where}: np.load without allow_pickle=False")
            if node.func.value.id == "torch":
                flag = keywords.get("weights_only")
                if not (isinstance(flag, ast.Constant) and flag.value is True):
                    found.append(f"{where}: torch.load without weights_only=True")
    assert not found, found


def test_no_function_is_too_complex() -> None:
    """ruff's McCabe check at 15 over the whole package."""
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (the dev extra)")
    done = subprocess.run([ruff, "check", "--select", "C901", "--config", "lint.mccabe.max-complexity=15",
                           str(PACKAGE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("module, qualname", [("io/audio_out.py", "AudioOutput._callback"),
                                              ("engine/engine.py", "Engine.process")])
def test_the_real_time_path_is_short_and_states_its_rules(module: str, qualname: str) -> None:
    """The audio callback and the engine's per-block path: at most 40 lines each, their real-time rules stated."""
    cls, name = qualname.split(".")
    tree = ast.parse((PACKAGE / module).read_text())
    found = [f for c in tree.body if isinstance(c, ast.ClassDef) and c.name == cls for f in c.body
             if isinstance(f, ast.FunctionDef) and f.name == name]
    assert len(found) == 1, f"{qualname} not found in {module}"
    func = found[0]
    assert func.end_lineno - func.lineno + 1 <= 40, f"{qualname} has {func.end_lineno - func.lineno + 1} lines"
    assert "Real-time rules" in (ast.get_docstring(func) or "")


def test_the_runtime_path_never_loads_torch() -> None:
    """Playing and rendering import no torch (a subprocess, so nothing else has loaded it)."""
    code = ("import sys, siam_rt.engine, siam_rt.live.session, siam_rt.host, siam_rt.analysis.analyze, "
            "siam_rt.cli.render; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_wheel_ships_no_test_or_bench_support(tmp_path: Path) -> None:
    """The JACK harness lives in bench/ with the other test and benchmark support: the wheel has none of it."""
    import zipfile

    hatch = shutil.which("hatchling")
    if hatch is None:
        pytest.skip("hatchling is not installed (the dev extra)")
    subprocess.run([hatch, "build", "-t", "wheel", "-d", str(tmp_path)], cwd=PACKAGE.parent, check=True,
                   capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "siam_rt/engine/engine.py" in names
    assert not [n for n in names if "harness" in n or n.startswith(("bench/", "tests/")) or "conftest" in n]
