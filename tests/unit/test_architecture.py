"""The house's shape, checked on every run: no import cycle among the
`fundraiser` modules, imports that go down the floors (the import-linter
contracts in pyproject.toml), and no module over 500 lines."""

from __future__ import annotations

import logging
import pathlib
import re
import tomllib

import grimp
from importlinter import cli as importlinter_cli

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "fundraiser"
MAX_LINES = 500


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan).
    An import of a package (its __init__) is left out, as in
    shared/tools/import_cycles.py: `from . import services` names the
    module, and create_app's package imports every blueprint by design."""
    packages = {m for m in graph.modules if graph.find_children(m)}
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) - packages - {m})
             for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle_among_fundraiser_modules():
    graph = grimp.build_graph("fundraiser", cache_dir=None)
    assert _cycles(graph) == [], "modules that import each other (move what they share " \
        "into one module both import)"


def test_imports_go_down_the_floors(capsys):
    """The layers and forbidden contracts in pyproject.toml ([tool.importlinter])."""
    # import-linter sets up logging as the command it is (dictConfig, which
    # disables every logger it does not name): put them back, or the log
    # lines of later tests in this process vanish.
    was_disabled = {name: logger.disabled
                    for name, logger in logging.root.manager.loggerDict.items()
                    if isinstance(logger, logging.Logger)}
    try:
        exit_code = importlinter_cli.lint_imports(config_filename=str(ROOT / "pyproject.toml"),
                                                  no_cache=True, no_logo=True)
    finally:
        for name, disabled in was_disabled.items():
            logging.getLogger(name).disabled = disabled
    report = capsys.readouterr().out
    assert exit_code == 0, report


def test_the_import_check_leaves_the_apps_logs_on(capsys, caplog):
    """Run in one process with the app's tests, the import check must not
    silence the app's loggers (it did: a test of a command's log lines then
    failed whenever it came after this one in a pytest-xdist worker)."""
    logger = logging.getLogger("fundraiser.staff.commands")
    test_imports_go_down_the_floors(capsys)
    with caplog.at_level(logging.INFO):
        logger.info("still heard")
    assert [r.getMessage() for r in caplog.records] == ["still heard"]


def test_every_top_level_module_has_a_floor():
    """A new package or module must be placed on a floor in the layers
    contract, or the contract says nothing about it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    layers = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    placed = set(re.findall(r"fundraiser\.\w+", " ".join(layers["layers"])))
    top_level = {f"fundraiser.{p.stem}" for p in PACKAGE.iterdir()
                 if (p.suffix == ".py" and p.stem != "__init__")
                 or (p.is_dir() and (p / "__init__.py").exists())}
    assert top_level - placed == set()


def test_no_module_over_500_lines():
    too_long = {str(path.relative_to(ROOT)): n for path in sorted(PACKAGE.rglob("*.py"))
                if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert too_long == {}, f"split these by area (at most {MAX_LINES} lines each)"
