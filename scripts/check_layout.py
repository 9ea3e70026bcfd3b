#!/usr/bin/env python3
"""The shape of the code, checked from the AST of every module (issue: layering).

- no import cycle between the project's modules, counting imports inside
  functions (import-linter sees those too, but reports only its contracts);
- the project's own modules are imported at the top of a module, never inside
  a function (heavy third-party libraries stay lazy, as STYLE.md asks), unless
  the import's line says why with a ``# lazy:`` comment: a module a default run
  or ``--version`` must not pay for (issue 15: start-up on a phone);
- no function over MAX_FUNCTION_LINES lines and no module over MAX_MODULE_LINES.

    python3 scripts/check_layout.py        # exit 1 and one line per problem

Modules are named as installed (payprobe.engine.runner for probe/engine/runner.py).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

# An import of the project's own inside a function is allowed on a line that says why.
LAZY_MARK = "# lazy:"
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400
ROOT = Path(__file__).resolve().parent.parent
# Installed name -> folder (pyproject's [tool.setuptools.package-dir]).
PACKAGES = {"payprobe.checks": ROOT / "checks", "payprobe.reports": ROOT / "reports", "payprobe": ROOT / "probe"}


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([package, *parts])
            found.setdefault(name, path)
    return found


def imported_names(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = module.split(".") if is_package else module.split(".")[:-1]
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join(anchor + ([base] if base else []))
        yield base
        for alias in node.names:
            yield f"{base}.{alias.name}"


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The project module an imported name refers to (a module, or the module holding a name)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def function_lengths(tree: ast.AST) -> Iterator[tuple[str, int, int]]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            yield node.name, node.lineno, (node.end_lineno or node.lineno) - first + 1


def check() -> list[str]:
    known = modules()
    problems: list[str] = []
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT)
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            problems.append(f"{rel}: {lines} lines (at most {MAX_MODULE_LINES})")
        tree = ast.parse(text, str(path))
        for func, lineno, length in function_lengths(tree):
            if length > MAX_FUNCTION_LINES:
                problems.append(f"{rel}:{lineno}: function {func} has {length} lines "
                                f"(at most {MAX_FUNCTION_LINES})")
        top_level = {id(n) for n in tree.body}
        source_lines = text.splitlines()
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            targets = {resolve(n, known) for n in imported_names(node, name, path.name == "__init__.py")}
            targets.discard(None)
            targets.discard(name)
            own = {t for t in targets if t is not None}
            if (own and id(node) not in top_level and not _under_type_checking(tree, node)
                    and LAZY_MARK not in source_lines[node.lineno - 1]):
                problems.append(f"{rel}:{node.lineno}: imports {', '.join(sorted(own))} inside a "
                                "function or block; the project's own modules are imported at the top")
            graph[name] |= own
    problems += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return problems


def _under_type_checking(tree: ast.Module, node: ast.AST) -> bool:
    for stmt in tree.body:
        if isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test):
            if any(child is node for child in ast.walk(stmt)):
                return True
    return False


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One example cycle per strongly connected component (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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
                found.append(sorted(component) + [sorted(component)[0]])

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main() -> int:
    problems = check()
    for line in problems:
        print(line)
    if problems:
        print(f"check_layout: {len(problems)} problem(s)")
        return 1
    print(f"check_layout: {len(modules())} modules, no cycle, no own import below the top, "
          f"functions <= {MAX_FUNCTION_LINES} lines, modules <= {MAX_MODULE_LINES} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
