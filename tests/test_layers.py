"""The layers of the package, checked by reading its imports with `ast` (nothing is imported).

core ← labelstudio, core ← dataset, (core, labelstudio, dataset) ← quality ← cli: a module
may import its own layer and the layers below it, never one above or beside it. No import
cycles. An import inside a function must say why it is lazy in a comment on its line or on
the line above (a heavy third-party package that most commands never need, for example).
No module takes an underscore (private) name from another module of the package: what a
second module needs gets a public name in its home module.
Each check is shown to fail on a small synthetic package written to tmp_path.
"""

from __future__ import annotations

import ast
import re
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.builders import REPO

ALLOWED = {
    "core": {"core"},
    "labelstudio": {"core", "labelstudio"},
    "dataset": {"core", "dataset"},
    "quality": {"core", "labelstudio", "dataset", "quality"},
    "cli": {"core", "labelstudio", "dataset", "quality", "cli"},
}
"""Layer → the layers its modules may import."""

KNOWN_CYCLES: set[frozenset[str]] = set()
"""Cycles allowed while open work breaks them: none."""


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    lazy: bool
    explained: bool


def module_name(path: Path, root: Path, package: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def layer_of(module: str, package: str) -> str:
    """The layer a module belongs to: its subpackage; the modules beside the subpackages are the CLI's."""
    parts = module.split(".")
    if len(parts) == 1:
        return "core"  # the package itself: its name and version only
    return parts[1] if parts[1] in ALLOWED and parts[1] != "cli" else "cli"


class _Collector(ast.NodeVisitor):
    def __init__(self, source: str, is_package: bool, lines: list[str], known: set[str], package: str) -> None:
        self.source, self.is_package, self.lines = source, is_package, lines
        self.known, self.package = known, package
        self.imports: list[Import] = []
        self.depth = 0

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING" or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        ):
            for child in node.orelse:
                self.visit(child)
            return  # imports only for the type checker are not imports at run time
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            here = self.source.split(".")
            anchor = here if self.is_package else here[:-1]
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join(anchor + ([node.module] if node.module else []))
        for alias in node.names:
            full = f"{base}.{alias.name}"
            self._add(full if full in self.known else base, node)

    def _add(self, target: str, node: ast.stmt) -> None:
        if not _inside(target, self.package):
            if self.depth:
                self._note_lazy(target, node)
            return
        while target not in self.known and "." in target:
            target = target.rsplit(".", 1)[0]
        self._note_lazy(target, node)

    def _note_lazy(self, target: str, node: ast.stmt) -> None:
        self.imports.append(Import(self.source, target, node.lineno, bool(self.depth), self._explained(node.lineno)))

    def _explained(self, line: int) -> bool:
        """A comment on the import's line, or on the line above the block of imports it stands in.

        A pragma for a tool (`# type: ignore[...]`, `# noqa`) is no reason, and does not count.
        """
        index = line - 1
        if _reason(self.lines[index]):
            return True
        while index > 0 and self.lines[index - 1].lstrip().startswith(("from ", "import ")):
            index -= 1
        return index > 0 and self.lines[index - 1].lstrip().startswith("#") and _reason(self.lines[index - 1])


_PRAGMA = re.compile(r"#\s*(type:\s*ignore(\[[^\]]*\])?|noqa(:\s*[A-Z0-9, ]+)?)\s*")


def _reason(line: str) -> bool:
    """Whether the line has a comment that says something besides tool pragmas."""
    if "#" not in line:
        return False
    comment = _PRAGMA.sub("", line[line.index("#") :])
    return bool(comment.strip(" #-"))


def read_imports(root: Path, package: str) -> list[Import]:
    """Every import in the package below `root`, with where it is and whether it is lazy."""
    paths = sorted(root.rglob("*.py"))
    known = {module_name(p, root, package) for p in paths}
    found: list[Import] = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        collector = _Collector(
            module_name(path, root, package), path.name == "__init__.py", text.splitlines(), known, package
        )
        collector.visit(ast.parse(text, filename=str(path)))
        found += collector.imports
    return found


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def upward_imports(imports: list[Import], package: str) -> list[str]:
    bad = []
    for item in imports:
        if not _inside(item.target, package):
            continue
        mine, theirs = layer_of(item.source, package), layer_of(item.target, package)
        if theirs not in ALLOWED[mine]:
            bad.append(f"{item.source}:{item.line} ({mine}) imports {item.target} ({theirs})")
    return bad


def unexplained_lazy_imports(imports: list[Import]) -> list[str]:
    return [f"{i.source}:{i.line} imports {i.target} inside a function" for i in imports if i.lazy and not i.explained]


def cycles(imports: list[Import], package: str) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm), each sorted."""
    graph: dict[str, set[str]] = {}
    for item in imports:
        if _inside(item.target, package) and item.target != item.source:
            graph.setdefault(item.source, set()).add(item.target)
            graph.setdefault(item.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _absolute(node: ast.ImportFrom, source: str, is_package: bool) -> str:
    """The module a `from … import` names, with a relative one resolved against `source`."""
    if not node.level:
        return node.module or ""
    here = source.split(".")
    anchor = here if is_package else here[:-1]
    anchor = anchor[: len(anchor) - node.level + 1]
    return ".".join(anchor + ([node.module] if node.module else []))


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def private_names_taken(root: Path, package: str) -> list[str]:
    """Each place a module takes an underscore name from another module of the package.

    `from m import _x`, and `m._x` on a module `m` of the package that it imported (by any name).
    """
    paths = sorted(root.rglob("*.py"))
    known = {module_name(p, root, package) for p in paths}
    found: list[str] = []
    for path in paths:
        source = module_name(path, root, package)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        modules: dict[str, str] = {m: m for m in known}  # a name in this module → the package module it is
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = _absolute(node, source, path.name == "__init__.py")
                if not _inside(base, package):
                    continue
                for alias in node.names:
                    if f"{base}.{alias.name}" in known:
                        modules[alias.asname or alias.name] = f"{base}.{alias.name}"
                    if _private(alias.name) and base != source:
                        found.append(f"{source}:{node.lineno} imports {alias.name} from {base}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname and _inside(alias.name, package):
                        modules[alias.asname] = alias.name
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr):
                owner = modules.get(_dotted(node.value) or "")
                if owner is not None and owner != source:
                    found.append(f"{source}:{node.lineno} uses {node.attr} of {owner}")
    return sorted(found, key=lambda line: (line.split(":")[0], int(line.split(":")[1].split()[0])))


# --- the package -----------------------------------------------------------------------------

PACKAGE_ROOT = REPO / "annotate"


def test_no_module_imports_a_layer_above_or_beside_its_own():
    assert upward_imports(read_imports(PACKAGE_ROOT, "annotate"), "annotate") == []


def test_no_import_cycles():
    found = [group for group in cycles(read_imports(PACKAGE_ROOT, "annotate"), "annotate")]
    assert [g for g in found if frozenset(g) not in KNOWN_CYCLES] == []


def test_every_lazy_import_says_why():
    assert unexplained_lazy_imports(read_imports(PACKAGE_ROOT, "annotate")) == []


def test_no_module_takes_a_private_name_of_another():
    assert private_names_taken(PACKAGE_ROOT, "annotate") == []


def test_every_module_is_in_a_layer():
    modules = {module_name(p, PACKAGE_ROOT, "annotate") for p in PACKAGE_ROOT.rglob("*.py")}
    loose = sorted(m for m in modules if m.count(".") == 1 and m.split(".")[1] not in ALLOWED)
    assert loose == [], "a module beside the layers is neither a layer nor the CLI"


HEAVY = ("label_studio_sdk.client", "datasets", "pyarrow", "numpy", "huggingface_hub.hf_api")
"""Packages that take a tenth of a second or more to import and that most commands never need."""


def test_starting_the_cli_imports_no_heavy_package():
    code = f"import sys, annotate.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=REPO)
    assert result.stdout.strip() == "[]"


def test_help_starts_quickly():
    """`annotate --help` is what a newcomer runs first: under 0.5 s of processor time.

    Processor time (user + system) of the child, not wall time, so a busy machine does not make it fail.
    """
    command = [sys.executable, "-m", "annotate.cli", "--help"]
    timings = []
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, check=True, capture_output=True, cwd=REPO)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        timings.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    assert min(timings) < 0.5, timings


# --- the checks catch what they must: a synthetic package ------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    package = root / "pkg"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in {p.parent for p in package.rglob("*.py")} | {package}:
        (folder / "__init__.py").touch()
    return package


def test_an_upward_import_is_caught(tmp_path: Path):
    package = _write(
        tmp_path,
        {
            "core/scheme.py": "from pkg.quality import agreement\n",
            "quality/agreement.py": "from pkg.core import scheme\n",
            "labelstudio/push.py": "from ..dataset.rows import row\n",
            "dataset/rows.py": "def row():\n    from pkg.core import scheme  # lazy: a test\n",
            "cli.py": "import pkg.quality.agreement\n",
        },
    )
    bad = upward_imports(read_imports(package, "pkg"), "pkg")
    assert bad == [
        "pkg.core.scheme:1 (core) imports pkg.quality.agreement (quality)",
        "pkg.labelstudio.push:1 (labelstudio) imports pkg.dataset.rows (dataset)",
    ]


def test_a_cycle_is_caught(tmp_path: Path):
    package = _write(
        tmp_path,
        {
            "core/a.py": "from pkg.core import b\n",
            "core/b.py": "def f():\n    # lazy: to show that a lazy import still makes a cycle\n    from pkg.core.c import g\n",
            "core/c.py": "import pkg.core.a\n",
            "core/d.py": "import pkg.core.a\n",
        },
    )
    assert cycles(read_imports(package, "pkg"), "pkg") == [["pkg.core.a", "pkg.core.b", "pkg.core.c"]]


def test_an_unexplained_lazy_import_is_caught(tmp_path: Path):
    package = _write(
        tmp_path,
        {
            "core/a.py": "def f():\n    import json\n\n\ndef g():\n    import csv  # lazy: rarely needed\n"
            "\n\ndef h():\n    import abc  # type: ignore[import-untyped]\n",
        },
    )
    assert unexplained_lazy_imports(read_imports(package, "pkg")) == [
        "pkg.core.a:2 imports json inside a function",
        "pkg.core.a:10 imports abc inside a function",
    ]


def test_a_private_name_taken_from_another_module_is_caught(tmp_path: Path):
    package = _write(
        tmp_path,
        {
            "core/a.py": "__version__ = '1'\n_limit = 3\n\n\ndef _helper():\n    return _limit\n",
            "core/b.py": "from pkg.core.a import _helper, __version__\n",
            "core/c.py": "from . import a\n\n\ndef f():\n    return a._helper() + a.__version__\n",
            "labelstudio/d.py": "import pkg.core.a as alias\nimport pkg.core.a\n\nx = alias._limit\ny = pkg.core.a._limit\n",
            "quality/e.py": "from ..core.a import _limit as limit\n",
            "quality/f.py": "from pkg.core.a import __version__\n_own = 1\nprint(_own)\n",
        },
    )
    assert private_names_taken(package, "pkg") == [
        "pkg.core.b:1 imports _helper from pkg.core.a",
        "pkg.core.c:5 uses _helper of pkg.core.a",
        "pkg.labelstudio.d:4 uses _limit of pkg.core.a",
        "pkg.labelstudio.d:5 uses _limit of pkg.core.a",
        "pkg.quality.e:1 imports _limit from pkg.core.a",
    ]
