"""The house's imports run one way (shared/DESIGN.md): cli -> commands -> api -> the rooms below.

Read from the source, function-level imports included: nothing below ``api`` imports ``api``,
``commands`` or ``cli``, and no module reaches itself through a chain of imports.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "producer"
TOP = ("producer.cli", "producer.commands", "producer.api", "producer.__main__")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every producer module ``path`` imports anywhere in its body (``from a import b`` counts as
    ``a.b`` when that is a module, else ``a``)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                     for a in node.names]
        else:
            continue
        out.update(n for n in names if n.startswith("producer"))
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    graph = {}
    for name, path in mods.items():
        deps = set()
        for dep in _imports(path, known):
            # A package's __init__ is not a dependency of its own submodules' siblings.
            while dep not in known and "." in dep:
                dep = dep.rsplit(".", 1)[0]
            if dep in known and dep != name and dep != "producer":
                deps.add(dep)
        graph[name] = deps
    return graph


def test_the_graph_is_read():
    graph = _graph()
    assert "producer.api" in graph and "producer.planner.mcts" in graph["producer.planner.recreate"]


def test_nothing_below_api_imports_api_commands_or_cli():
    upward = [(name, dep) for name, deps in _graph().items() if not name.startswith(TOP)
              for dep in deps if dep.startswith(TOP)]
    assert upward == []


def test_no_import_cycles():
    graph = _graph()
    cycles = []
    state: dict[str, int] = {}

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert cycles == []


def test_commands_only_parse_call_and_print():
    """Every command module is short (the work is in api and below) and calls the api."""
    for path in sorted((ROOT / "commands").glob("*.py")):
        lines = path.read_text().count("\n")
        assert lines < 120, f"{path.name}: {lines} lines"
        if path.name != "__init__.py":
            deps = _imports(path, set(_modules()))
            below = sorted(d for d in deps if not d.startswith(TOP) and d not in ("producer.errors",))
            assert below == [], f"{path.name} reaches below api: {below}"


def test_long_functions_say_why():
    """No function over 60 lines without the reason in its docstring ("Long because ...")."""
    unexplained = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 60 and "long because" not in (ast.get_docstring(node) or "").lower():
                    unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert unexplained == []
