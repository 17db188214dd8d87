"""The study package's layout (tools/analysis_tools/study/): files of at
most 300 lines, imports between its modules by the package's name (relative
or ``study.``), never as top-level modules, and no import circle, function
level imports included."""
import ast
import os.path as osp
from glob import glob

from ....harness import REPO

PACKAGE = osp.join(REPO, 'tools/analysis_tools/study')
MAX_LINES = 300


def modules() -> dict:
    """``{dotted name: file}`` of every module of the package."""
    out = {}
    for path in glob(osp.join(PACKAGE, '**', '*.py'), recursive=True):
        parts = osp.relpath(path, osp.dirname(PACKAGE))[:-3].split(osp.sep)
        if parts[-1] == '__init__':
            parts.pop()
        out['.'.join(parts)] = path
    return out


def imports(name: str, path: str, known: dict) -> tuple:
    """``(modules of the package that ``name`` imports, anywhere in the
    file; top-level imports of a package module's bare name)``."""
    package = name if path.endswith('__init__.py') else name.rpartition(
        '.')[0]
    bare = {m.rpartition('.')[2] for m in known}
    found, stray = set(), []
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split('.')[0] == 'study':
                    found.add(alias.name)
                elif alias.name.split('.')[0] in bare:
                    stray.append(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                target = '.'.join(base + ([node.module] if node.module
                                          else []))
            elif (node.module or '').split('.')[0] == 'study':
                target = node.module
            else:
                if (node.module or '').split('.')[0] in bare:
                    stray.append(node.module)
                continue
            for alias in node.names:
                sub = f'{target}.{alias.name}'
                found.add(sub if sub in known else target)
    return found & set(known), stray


def graph() -> dict:
    known = modules()
    out = {}
    for name, path in known.items():
        edges, stray = imports(name, path, known)
        assert not stray, (f'{path} imports {stray} as top-level modules; '
                           'import them from the package (relative)')
        out[name] = edges - {name}
    return out


def cycle(edges: dict):
    """One import circle as a list of modules, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = 'open'
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 'open':
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 'done'
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_every_file_is_at_most_300_lines():
    long = {osp.relpath(p, REPO): n for p in modules().values()
            if (n := len(open(p).read().splitlines())) > MAX_LINES}
    assert not long, f'split by concept: {long}'


def test_imports_go_one_way():
    edges = graph()
    assert 'study.stages' in edges and 'study.transfer.stages' in edges
    assert 'study.tables' in edges['study.curves']  # resolved, relative
    assert 'study.rows' in edges['study.transfer.plan']  # from ..rows
    found = cycle(edges)
    assert found is None, 'import circle: ' + ' -> '.join(found)


def test_the_checker_finds_a_circle():
    edges = dict(graph())
    edges['study.tables'] = edges['study.tables'] | {'study.report'}
    assert cycle(edges) is not None
