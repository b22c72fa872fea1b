"""Nothing untrusted is executed: YAML is safe-loaded, every torch.load uses weights_only=True, no pickle
is loaded from user files. (HTML escaping of user-controlled names: tests/reporters/test_html_report.py;
pickled .npy/.npz: test_bad_vectors.py.)"""

from __future__ import annotations

import ast
from pathlib import Path

import splitcheck
from splitcheck.curves.metadata import load_mapping

PACKAGE = Path(splitcheck.__file__).resolve().parent


def test_yaml_python_tags_are_plain_values_and_run_nothing(tmp_path):
    marker = tmp_path / "pwned"
    config = tmp_path / "run_config.yaml"
    config.write_text(
        "lr: 0.1\n"
        f'evil: !!python/object/apply:os.system ["touch {marker}"]\n'
        f'popen: !!python/object/new:subprocess.Popen [["touch", "{marker}"]]\n'
        "name: !!python/name:os.system\n"
    )
    assert load_mapping(config) == {"lr": 0.1, "evil": [f"touch {marker}"], "popen": [["touch", str(marker)]],
                                    "name": ""}
    assert not marker.exists()


def _calls(name: str) -> list[tuple[Path, ast.Call]]:
    """Every call ``<something>.<name>(...)`` or ``<name>(...)`` in the package's source."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if called == name:
                    found.append((path, node))
    return found


def _keyword(call: ast.Call, name: str) -> object:
    for keyword in call.keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            return keyword.value.value
    return None


def test_every_torch_load_uses_weights_only():
    loads = [(p, c) for p, c in _calls("load") if isinstance(c.func, ast.Attribute)
             and isinstance(c.func.value, ast.Name) and c.func.value.id == "torch"]
    unsafe = [f"{p.relative_to(PACKAGE)}:{c.lineno}" for p, c in loads if _keyword(c, "weights_only") is not True]
    assert unsafe == []


def test_numpy_loads_refuse_pickles_and_yaml_loads_are_safe():
    np_loads = [(p, c) for p, c in _calls("load") if isinstance(c.func, ast.Attribute)
                and isinstance(c.func.value, ast.Name) and c.func.value.id == "np"]
    assert np_loads, "the package reads .npy files somewhere"
    unsafe = [f"{p.relative_to(PACKAGE)}:{c.lineno}" for p, c in np_loads if _keyword(c, "allow_pickle") is not False]
    assert unsafe == []
    for path, call in _calls("load") + _calls("load_all"):
        if isinstance(call.func, ast.Attribute) and getattr(call.func.value, "id", None) == "yaml":
            loader = next((k.value for k in call.keywords if k.arg == "Loader"), None)
            assert isinstance(loader, ast.Name) and loader.id in {"_Loader", "SafeLoader", "CSafeLoader"}, path
    assert not [p for p, _ in _calls("unsafe_load") + _calls("full_load")]
    sources = {p.relative_to(PACKAGE): p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py")}
    pickle_users = [p for p, text in sources.items() if "import pickle" in text or "read_pickle" in text]
    assert pickle_users == []
