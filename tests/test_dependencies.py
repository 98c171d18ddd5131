"""pyproject.toml declares what the code imports, and only that."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from tests.helpers import ROOT

OURS = {"bot", "retrieval", "config", "prompts", "tests", "bench", "training"}
# Declared but imported by other packages only, each for a reason of ours.
RUNTIME_INDIRECT = {"onnx"}  # torch's ONNX exporter and onnxruntime's quantizer
DEV_INDIRECT = {
    "langchain-openai",  # init_chat_model("openai:...") in tests/test_chain.py
    "xllamacpp",  # the LLM tests' model server, through bot/llamacpp.py
    "pytest-asyncio",  # a pytest plugin
    "ruff",  # the linter
}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(specs: list[str]) -> set[str]:
    return {_canonical(re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0]) for spec in specs}


def _imports(*folders: str) -> dict[str, set[str]]:
    """Each third-party module the files under ``folders`` import, with the distributions
    that provide it."""
    modules: set[str] = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    dists = packages_distributions()
    return {
        module: {_canonical(d) for d in dists.get(module, [module])}
        for module in modules - OURS - set(sys.stdlib_module_names)
    }


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_every_runtime_dependency_is_imported_and_every_import_declared() -> None:
    project = _project()
    runtime = _declared(project["dependencies"])
    extras = set().union(*map(_declared, project["optional-dependencies"].values()))
    imports = _imports("bot", "retrieval", "config", "prompts")
    provided = set().union(*imports.values())
    assert runtime - RUNTIME_INDIRECT <= provided, runtime - RUNTIME_INDIRECT - provided
    undeclared = {m for m, dists in imports.items() if not dists & (runtime | extras)}
    assert not undeclared, undeclared


def test_every_dev_dependency_is_used_by_the_tests() -> None:
    project = _project()
    runtime = _declared(project["dependencies"])
    dev = _declared(project["optional-dependencies"]["dev"])
    imports = _imports("tests")
    provided = set().union(*imports.values())
    assert dev - DEV_INDIRECT <= provided, dev - DEV_INDIRECT - provided
    undeclared = {m for m, dists in imports.items() if not dists & (runtime | dev)}
    assert not undeclared, undeclared


def test_the_train_extra_is_what_the_training_scripts_import() -> None:
    project = _project()
    runtime = _declared(project["dependencies"])
    train = _declared(project["optional-dependencies"]["train"])
    imports = _imports("training")
    provided = set().union(*imports.values())
    # accelerate runs sentence-transformers' CrossEncoderTrainer; nothing of ours imports it.
    assert train - {"accelerate"} <= provided, train - provided
    assert "accelerate" in train and "sentence-transformers" in runtime
    undeclared = {m for m, dists in imports.items() if not dists & (runtime | train)}
    assert not undeclared, undeclared
