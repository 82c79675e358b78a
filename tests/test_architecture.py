"""The house's rules, checked on the source (docs/ARCHITECTURE.md):

(a) stages import only earlier stages: connectome -> network -> engine -> signals -> fitness ->
    stats -> figures, with shared modules below all and the command-line front doors above;
(b) every script under scripts/ is an adapter of at most 60 lines;
(c) no source file over 700 lines and no function over 100 lines, except compiled kernels.

Imports are read with ``ast`` (module-level and function-local alike), never by importing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "cmftvb"

#: Stages in order; a module may import its own stage, earlier ones and the shared modules.
STAGES = ("shared", "connectome", "network", "engine", "signals", "fitness", "stats", "figures")
#: Modules that belong to no stage: the shared plumbing below every stage.
SHARED = {"cmftvb", "cmftvb.io", "cmftvb._vmath", "cmftvb._jitcache", "cmftvb._blas"}
#: Front doors (command line): may import anything, nothing imports them.
#: cmftvb.config checks a user's whole config (every stage's keys) before anything runs: a
#: front door of the workflow, used by the CLI and the Snakefile.
FRONT_DOORS = {"cmftvb.cli", "cmftvb.__main__", "cmftvb.engine.cli", "cmftvb.config"}
#: Stage of a module by the first match of its dotted name (after ``cmftvb.``).
PREFIXES = (
    # datasets reads the cohorts' raw files into Connectomes: stage 1, beside the readers
    ("datasets", "connectome"),
    ("connectome", "connectome"),
    ("network", "network"),
    ("models", "network"),  # local models are parts of the network
    ("fic", "network"),  # feedback inhibition control tunes a network's J_i before it runs
    ("gstar", "network"),  # G relative to the FIC state's critical coupling G*
    ("engine", "engine"),
    ("batch", "engine"),  # one workflow batch of the engine
    ("signals", "signals"),
    ("fitness", "fitness"),
    ("stats", "stats"),
    ("recovery", "stats"),  # model recovery and power: statistics over a synthetic cohort
    ("figures", "figures"),
)


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def stage_of(module: str) -> str | None:
    """Stage of a cmftvb module; None for a front door."""
    if module in FRONT_DOORS:
        return None
    if module in SHARED:
        return "shared"
    rest = module.removeprefix("cmftvb.")
    for prefix, stage in PREFIXES:
        if rest == prefix or rest.startswith(prefix + "."):
            return stage
    raise AssertionError(f"{module}: no stage (add it to tests/test_architecture.py)")


def imported_modules(path: Path) -> set[str]:
    """cmftvb modules imported anywhere in a source file of the package."""
    return imports_of(path.read_text(), module_name(path), path.name == "__init__.py")


def imports_of(text: str, here: str, is_package: bool) -> set[str]:
    """cmftvb modules imported anywhere in ``text``, the source of module ``here``
    (``from cmftvb.x import y`` counts ``cmftvb.x.y`` when that is a module, else
    ``cmftvb.x``; relative imports are resolved)."""
    package = here if is_package else here.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "cmftvb"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != "cmftvb":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if is_module(sub) else base)
    return out


def violations(module: str, imports: set[str]) -> list[str]:
    """Imports of ``module`` that break the stage order (none for a front door)."""
    stage = stage_of(module)
    if stage is None:
        return []
    out = []
    for target in sorted(imports):
        if target in FRONT_DOORS:
            out.append(f"{module} imports the front door {target}")
        elif STAGES.index(stage_of(target)) > STAGES.index(stage):
            out.append(
                f"{module} (stage {stage}) imports {target} (stage {stage_of(target)}): "
                f"stages run {' -> '.join(STAGES)}"
            )
    return out


def is_module(name: str) -> bool:
    path = SRC.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


SOURCES = sorted(SRC.rglob("*.py"))

#: Imports that break the order today and the work that removes them (none left).
PENDING_IMPORTS: dict[str, str] = {}


def _xfail_pending(path: Path):
    module = module_name(path)
    if module in PENDING_IMPORTS:
        return pytest.param(
            path, marks=pytest.mark.xfail(strict=False, reason=PENDING_IMPORTS[module])
        )
    return path


def test_every_module_has_a_stage():
    for path in SOURCES:
        stage_of(module_name(path))  # raises for a module without one


@pytest.mark.parametrize("path", [_xfail_pending(p) for p in SOURCES], ids=lambda p: module_name(p))
def test_no_stage_imports_a_later_one(path):
    assert not violations(module_name(path), imported_modules(path))


def test_the_import_check_sees_local_and_relative_imports():
    """The check above can fail: function-local and relative imports of a later stage are
    found, and an earlier stage or the shared modules are allowed."""
    text = (
        "from . import roles\n"
        "from cmftvb import io\n"
        "def f():\n"
        "    from cmftvb.figures import save_one\n"
        "    import cmftvb.stats\n"
        "    from ..signals import ephys\n"
    )
    found = imports_of(text, "cmftvb.connectome.core", is_package=False)
    assert found == {
        "cmftvb.connectome.roles",
        "cmftvb.io",
        "cmftvb.figures",
        "cmftvb.stats",
        "cmftvb.signals.ephys",
    }
    bad = violations("cmftvb.connectome.core", found)
    assert [b.split(" imports ")[1].split(" ")[0] for b in bad] == [
        "cmftvb.figures",
        "cmftvb.signals.ephys",
        "cmftvb.stats",
    ]
    assert violations("cmftvb.cli", found) == []  # a front door may import anything
    assert violations("cmftvb.fitness", {"cmftvb.engine.cli"}) == [
        "cmftvb.fitness imports the front door cmftvb.engine.cli"
    ]


# ------------------------------------------------------------------ scripts
#: Tools run by hand or by make, not rule adapters: they may be longer.
TOOLS = {"config_reference.py", "make_conda_env.py", "plan_study.py"}
SCRIPTS = sorted((ROOT / "scripts").glob("*.py"))


@pytest.mark.parametrize("path", [p for p in SCRIPTS if p.name not in TOOLS], ids=lambda p: p.name)
def test_scripts_are_short_adapters(path):
    n = len(path.read_text().splitlines())
    assert n <= 60, f"scripts/{path.name}: {n} lines (an adapter reads, calls cmftvb, writes)"


#: Adapters that pass their rule's params on as keywords (``**snakemake.params``): rule file, rule,
#: the package function they feed.
PARAMS_AS_KEYWORDS = (
    ("simulation.smk", "simulate", "cmftvb.batch:simulate_batch"),
    ("stats.smk", "stats", "cmftvb.stats:study_stats"),
    ("recovery.smk", "synthetic_bold", "cmftvb.signals.synthetic:generate_bold"),
)


def _rule_param_names(smk: str, rule: str) -> list[str]:
    """Names of a rule's params: ``name=`` entries and the config section keys of
    ``**config["section"]`` (from the config schema)."""
    import re

    import yaml

    text = (ROOT / "workflow" / "rules" / smk).read_text()
    block = text.split(f"rule {rule}:", 1)[1].split("\nrule ", 1)[0]
    params = block.split("    params:\n", 1)[1]
    params = params[: re.search(r"^    \w+:", params, re.M).start()]
    names = re.findall(r"^        (\w+)=", params, re.M)
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    for section in re.findall(r'^        \*\*config\["(\w+)"\]', params, re.M):
        names += list(schema["properties"][section]["properties"])
    return names


@pytest.mark.parametrize("smk,rule,func", PARAMS_AS_KEYWORDS, ids=lambda x: str(x))
def test_rule_params_are_keywords_of_the_function_fed(smk, rule, func):
    import importlib
    import inspect

    module, name = func.split(":")
    accepted = inspect.signature(getattr(importlib.import_module(module), name)).parameters
    names = _rule_param_names(smk, rule)
    assert names, f"rule {rule}: no params found"
    assert [n for n in names if n not in accepted] == [], f"rule {rule}: params {func} refuses"


# ------------------------------------------------------------------- sizes
def _is_kernel(node: ast.AST) -> bool:
    """A function compiled by numba (``@njit``, ``@njit(...)``, ``@numba.njit``)."""
    for d in getattr(node, "decorator_list", []):
        target = d.func if isinstance(d, ast.Call) else d
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in ("njit", "jit"):
            return True
    return False


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def kernel_lines(tree: ast.AST) -> int:
    return sum(f.end_lineno - f.lineno + 1 for f in _functions(tree) if _is_kernel(f))


#: Files and functions too long today and the work that shortens them (none left).
PENDING_FILES: dict[str, str] = {}
PENDING_FUNCTIONS: dict[tuple[str, str], str] = {}


def _rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def _file_param(path: Path):
    reason = PENDING_FILES.get(_rel(path))
    marks = [pytest.mark.xfail(strict=False, reason=reason)] if reason else []
    return pytest.param(path, marks=marks, id=_rel(path))


@pytest.mark.parametrize("path", [_file_param(p) for p in SOURCES])
def test_no_source_file_over_700_lines(path):
    tree = ast.parse(path.read_text())
    n = len(path.read_text().splitlines())
    # a compiled-kernel module: at least half of its lines are numba kernels
    if n > 700 and kernel_lines(tree) < n / 2:
        pytest.fail(f"{_rel(path)}: {n} lines (at most 700 outside compiled kernels)")


def _function_params():
    for path in SOURCES:
        rel = _rel(path)
        pending = {f for (p, f) in PENDING_FUNCTIONS if p == rel}
        reasons = [PENDING_FUNCTIONS[(rel, f)] for f in sorted(pending)]
        marks = [pytest.mark.xfail(strict=False, reason="; ".join(reasons))] if reasons else []
        yield pytest.param(path, marks=marks, id=rel)


@pytest.mark.parametrize("path", list(_function_params()))
def test_no_function_over_100_lines(path):
    long = [
        f"{f.name} ({f.end_lineno - f.lineno + 1} lines)"
        for f in _functions(ast.parse(path.read_text()))
        if f.end_lineno - f.lineno + 1 > 100 and not _is_kernel(f)
    ]
    assert not long, f"{_rel(path)}: functions over 100 lines outside compiled kernels: {long}"
