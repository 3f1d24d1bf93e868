"""The code's layout holds: every module says what it owns, none grows past ~450 lines, no
function past ~60, and no two modules import each other (directly or round a circle)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("eduka", "accounts", "school", "mailing", "notifications")
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60


def _modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            yield path, ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(
                ".__init__")


def test_every_module_says_what_it_owns():
    missing = [str(path.relative_to(ROOT)) for path, _ in _modules()
               if path.stat().st_size and not ast.get_docstring(ast.parse(path.read_text()))]
    assert missing == []


def test_no_module_and_no_function_is_too_long():
    long_modules, long_functions = [], []
    for path, name in _modules():
        source = path.read_text()
        if source.count("\n") > MAX_MODULE_LINES:
            long_modules.append((name, source.count("\n")))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append((f"{name}.{node.name}", length))
    assert long_modules == []
    assert long_functions == []


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules this module imports, at any depth (function-level imports too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def test_no_import_circles():
    modules = dict((name, path) for path, name in _modules())
    known = set(modules)
    graph = {name: _imports(path, name, known) for name, path in modules.items()}
    # A package's __init__ is imported with any of its modules: not an edge of its own.
    graph = {name: {t for t in targets if not name.startswith(t + ".")}
             for name, targets in graph.items()}
    circles = set()

    def visit(node, stack, on_stack, done):
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt in on_stack:
                circles.add(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in done:
                visit(nxt, stack, on_stack, done)
        stack.pop()
        on_stack.discard(node)
        done.add(node)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [], set(), done)
    assert sorted(circles) == []
