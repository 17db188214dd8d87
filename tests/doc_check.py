"""The checker of tests/test_docs.py: a Markdown page parsed into prose and
fenced blocks, and the repo paths and config commands it names checked
against the repo (links and anchors: tests/doc_links.py)."""
import functools
import glob
import itertools
import os.path as osp
import re
import shlex
import subprocess

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
MD_FILES = sorted(
    glob.glob(osp.join(REPO, '*.md')) +
    glob.glob(osp.join(REPO, 'docs', '**', '*.md'), recursive=True))
MD_IDS = [osp.relpath(p, REPO) for p in MD_FILES]
HISTORY_FILES = {'CHANGELOG.md'}  # names former paths on purpose

PREFIX = r'(?:configs|tools|mmsymmim|docs|tests|\.ci)/'
PART = r'(?:[\w.*/-]|\{[\w.,/-]*\})*'
REPO_PATH = re.compile(r'(?<![\w./$~-])(' + PREFIX + PART + ')')
TOP_FILE = re.compile(r'(?<![\w./$-])(README\.md|CHANGELOG\.md|LICENSE|'
                      r'setup\.py)(?![\w/-])')
BARE_CONFIG = re.compile(r'(?<![\w./$*-])((?:symmim_|mixmask-)'
                         r'(?:[\w.-]|\{[\w.,-]*\})*\.py)(?![\w/])')
GENERATED = ('mmsymmim/.mim', )
OUTPUT_BEFORE = re.compile(r'(?:--out[= ]|>\s*)$')
LINK = re.compile(r'!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?'
                  r'(?:\s+"[^"]*")?\s*\)')
FENCE = re.compile(r'^\s*(`{3,}|~{3,})(.*)$')
HEADING = re.compile(r'^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$')
HTML_ID = re.compile(r'<[^>]+\b(?:id|name)="([^"]+)"')
CODE_SPAN = re.compile(r'(`+)(.+?)\1')
GIT_SHOW = re.compile(r'git show ([0-9a-f]{7,40}):(\S+)')


# ------------------------------------------------------------- the parser
def parse(text: str):
    """``(prose, blocks)``: prose lines as ``(line number, text)`` with fenced
    blocks left out; blocks as ``(first line number, info, [lines])``."""
    prose, blocks, block = [], [], None
    for n, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if block is None:
            if m:
                block = (n, m.group(2).strip(), [], m.group(1))
            else:
                prose.append((n, line))
        elif m and m.group(1)[0] == block[3][0] and len(
                m.group(1)) >= len(block[3]) and not m.group(2).strip():
            blocks.append(block[:3])
            block = None
        else:
            block[2].append(line)
    if block is not None:  # unclosed: GitHub renders to the end
        blocks.append(block[:3])
    return prose, blocks


def is_history(block) -> bool:
    return any('git show ' in line for line in block[2])


def expand(token: str):
    """``a{b,c}d`` -> ``abd``, ``acd`` (nested braces are not used)."""
    parts = re.split(r'\{([^{}]*)\}', token)
    choices = [[p] if i % 2 == 0 else p.split(',')
               for i, p in enumerate(parts)]
    return [''.join(c) for c in itertools.product(*choices)]


def path_tokens(line: str):
    """Repo paths named in ``line``, placeholders and outputs left out."""
    found = []
    for m in itertools.chain(REPO_PATH.finditer(line),
                             TOP_FILE.finditer(line)):
        token = m.group(1).rstrip('.,')
        after = line[m.end():m.end() + 1]
        if after in ('$', '<') or OUTPUT_BEFORE.search(line[:m.start()]):
            continue
        if token.startswith(GENERATED):
            continue
        found.append(token)
    return found


def bare_configs(line: str):
    return [m.group(1) for m in BARE_CONFIG.finditer(line)]


@functools.lru_cache(maxsize=None)
def config_names():
    return {
        osp.basename(p)
        for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                           recursive=True)
    }


@functools.lru_cache(maxsize=None)
def full_history() -> bool:
    """A git checkout with its whole history (not shallow, git works)."""
    try:
        r = subprocess.run(['git', 'rev-parse', '--is-shallow-repository'],
                           cwd=REPO, capture_output=True, text=True,
                           timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0 and r.stdout.strip() == 'false'


@functools.lru_cache(maxsize=None)
def git_paths():
    """Every path any commit touched, or None without the history."""
    if not full_history():
        return None
    try:
        out = subprocess.run(
            ['git', 'log', '--all', '--format=', '--name-only'], cwd=REPO,
            capture_output=True, text=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return frozenset(line for line in out.splitlines() if line)


def git_has(rev: str, path: str):
    """``REV:PATH`` exists (None when git cannot tell)."""
    if not full_history():
        return None
    try:
        r = subprocess.run(['git', 'cat-file', '-e', f'{rev}:{path}'],
                           cwd=REPO, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.returncode == 0


def exists(token: str, history: bool = False) -> bool:
    for path in expand(token):
        path = path.rstrip('/')
        if glob.glob(osp.join(REPO, path)):
            continue
        if history:
            known = git_paths()
            if known is None or any(
                    k == path or k.startswith(path + '/') for k in known):
                continue
        return False
    return True


# ------------------------------------------------------------- the checks
def path_problems(text: str, name: str = 'doc.md'):
    """``line: message`` for every repo path the page names that is not
    there."""
    prose, blocks = parse(text)
    history = osp.basename(name) in HISTORY_FILES
    lines = list(prose)
    problems = []
    for start, _, body in blocks:
        numbered = [(start + 1 + i, line) for i, line in enumerate(body)]
        if is_history((start, '', body)):
            for n, line in numbered:
                for rev, path in GIT_SHOW.findall(line):
                    if '$' not in path and git_has(rev, path) is False:
                        problems.append(f'{name}:{n}: git show {rev}:{path}:'
                                        ' no such file in that commit')
            continue
        lines += numbered
    for n, line in lines:
        for token in path_tokens(line):
            if not exists(token, history):
                where = ('the repo or its git history'
                         if history else 'the repo')
                problems.append(f'{name}:{n}: {token!r} does not exist in '
                                f'{where}')
        for token in bare_configs(line):
            missing = [c for c in expand(token) if c not in config_names()]
            if missing and not (history and exists_in_history_configs(
                    missing)):
                problems.append(f'{name}:{n}: config {missing[0]!r} is not '
                                'under configs/')
    return problems


def exists_in_history_configs(names) -> bool:
    known = git_paths()
    if known is None:
        return True
    old = {osp.basename(k) for k in known if k.startswith('configs/')}
    return all(n in old for n in names)


def commands(body):
    """Shell commands of a fenced block, continuation lines joined, as
    ``(line offset, argv)``."""
    out, buf, first = [], '', None
    for i, line in enumerate(body):
        if first is None:
            first = i
        if line.rstrip().endswith('\\'):
            buf += line.rstrip()[:-1] + ' '
            continue
        buf += line
        try:
            argv = shlex.split(buf, comments=True)
        except ValueError:
            argv = buf.split()
        if argv:
            out.append((first, argv))
        buf, first = '', None
    return out


@functools.lru_cache(maxsize=None)
def load_config(path: str):
    from mmengine.config import Config
    return Config.fromfile(osp.join(REPO, path))


def find_config_path(name: str):
    hits = glob.glob(osp.join(REPO, 'configs', '**', name), recursive=True)
    return osp.relpath(hits[0], REPO) if len(hits) == 1 else None


def key_problem(cfg, key: str):
    """Why ``--cfg-options key=...`` would not land in ``cfg`` (or None)."""
    node, parts = cfg, key.split('.')
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, (list, tuple)):
            if not part.isdigit() or int(part) >= len(node):
                return f'{".".join(parts[:i + 1])}: no such list item'
            node = node[int(part)]
            continue
        if not hasattr(node, 'keys'):
            return f'{".".join(parts[:i])} is not a dict'
        if part in node:
            node = node[part]
            continue
        if last and 'type' in node:  # an argument the class may take
            return None
        return f'{".".join(parts[:i + 1])} is not in the config'
    return None


def config_problems(text: str, name: str = 'doc.md'):
    """Every config a fenced command names parses, and its ``--cfg-options``
    keys land in it."""
    _, blocks = parse(text)
    problems = []
    for start, _, body in blocks:
        if is_history((start, '', body)):
            continue
        for offset, argv in commands(body):
            n = start + 1 + offset
            named = []
            for i, arg in enumerate(argv):
                if arg.endswith('.py') and arg.startswith('configs/'):
                    named.append(arg)
                elif (arg.endswith('.py') and '/' not in arg and i >= 3
                      and argv[i - 1] == 'mmsymmim'
                      and argv[i - 2] == 'train'):  # mim train mmsymmim X
                    named.append(find_config_path(arg) or arg)
            for path in named:
                if '*' in path or '{' in path:
                    continue
                if not osp.isfile(osp.join(REPO, path)):
                    problems.append(f'{name}:{n}: no config {path}')
                    continue
                try:
                    cfg = load_config(path)
                except Exception as e:  # noqa: BLE001 - report any failure
                    problems.append(f'{name}:{n}: {path} does not parse: '
                                    f'{type(e).__name__}: {e}')
                    continue
                if len(named) != 1 or '--cfg-options' not in argv:
                    continue
                at = argv.index('--cfg-options') + 1
                for opt in itertools.takewhile(
                        lambda a: not a.startswith('--'), argv[at:]):
                    why = key_problem(cfg, opt.split('=', 1)[0])
                    if why:
                        problems.append(f'{name}:{n}: --cfg-options {opt}: '
                                        f'{why} ({path})')
    return problems


def report(problems):
    return '\n'.join(['the docs name what is not there:'] + problems)
