"""The link check of tests/test_docs.py: relative links and images resolve,
and each ``#anchor`` is a heading (or an ``id``/``name``) of its target,
slugged as GitHub does."""
import os.path as osp
import re

from .doc_check import CODE_SPAN, HEADING, HTML_ID, LINK, REPO, parse


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', heading)
    text = re.sub(r'<[^>]+>', '', text).strip().lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(text: str):
    prose, _ = parse(text)
    seen, out = {}, set()
    for _, line in prose:
        out.update(HTML_ID.findall(line))
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f'{base}-{count}')
    return out


def link_problems(text: str, path: str):
    """Relative links and images resolve; anchors name a heading."""
    name = osp.relpath(path, REPO)
    prose, _ = parse(text)
    problems = []
    for n, line in prose:
        line = CODE_SPAN.sub('', line)
        for target in LINK.findall(line):
            if re.match(r'^[a-z][a-z0-9+.-]*:', target):  # http:, mailto:
                continue
            file_part, _, anchor = target.partition('#')
            if not file_part:  # an anchor of this page
                if anchor not in anchors(text):
                    problems.append(f'{name}:{n}: link {target!r}: no '
                                    f'heading #{anchor} on this page')
                continue
            dest = osp.normpath(osp.join(osp.dirname(path), file_part))
            if not dest.startswith(REPO + osp.sep):
                problems.append(f'{name}:{n}: link {target!r} leaves the '
                                'repo')
                continue
            if not osp.exists(dest):
                problems.append(f'{name}:{n}: link {target!r}: '
                                f'{osp.relpath(dest, REPO)} does not exist')
                continue
            if anchor and dest.endswith('.md'):
                if anchor not in anchors(open(dest).read()):
                    problems.append(f'{name}:{n}: link {target!r}: no '
                                    f'heading #{anchor} in '
                                    f'{osp.relpath(dest, REPO)}')
    return problems
