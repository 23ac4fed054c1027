"""The code in the getting-started page and the guides runs, so the pages cannot rot.

Conventions of the pages (``docs/getting-started.md``, ``docs/guides/*.md``):

- Every fenced ```` ```python ```` block is run. The blocks of one page run in order, in
  one namespace (like the cells of a notebook) whose ``__name__`` is ``"__main__"``, in a
  fresh temporary folder as the current directory. A block fails the page's test if it
  raises, or emits a warning (pytest runs with warnings as errors).
- A block that is too slow or needs data the test machine lacks is marked by a MyST
  comment on the line just before its fence, ``% test: skip REASON``; it is not run, and
  appears as a skipped test with its reason. Blocks in other languages (``bash``,
  ``text``, ``toml``) are never run.
- Every ``topokit ...`` command in a ```` ```bash ```` block is parsed by the real
  argument parser (:func:`topokit.cli.build_parser`), so a renamed option or command
  fails here; the commands are not run.
- Every ``{func}``/``{class}``/``{meth}``/... role names an importable object, and every
  ``{doc}`` role names a page that exists (Sphinx is not nitpicky here, so a wrong
  Python target would otherwise pass the build silently).
- Every ``toml`` block whose first line is ``# study`` is a complete study file that
  :func:`topokit.analysis.load_study` accepts.
"""

from __future__ import annotations

import importlib
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from topokit.cli import build_parser
from topokit.cli._common import UsageError

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted([DOCS / "getting-started.md", *(DOCS / "guides").glob("*.md")])

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_SKIP = re.compile(r"^% test: skip\b(?P<reason>.*)$")
_PY_ROLE = re.compile(r"\{(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj)\}`(?P<target>[^`]+)`")
_DOC_ROLE = re.compile(r"\{doc\}`(?P<target>[^`]+)`")


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    skip: str | None  # the reason, for a block marked "% test: skip"

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def _blocks(path: Path, page: str | None = None) -> list[Block]:
    """The fenced code blocks of a MyST page (```lang and ```{code-block} lang)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    page = str(path.relative_to(DOCS)) if page is None else page
    blocks, k = [], 0
    while k < len(lines):
        match = _FENCE.match(lines[k])
        if not match or not match["info"].strip():
            k += 1
            continue
        fence, info = match["fence"], match["info"].strip()
        language = info.split()[-1] if info.startswith("{code") else info.split()[0]
        start, body = k, []
        k += 1
        while k < len(lines) and not lines[k].strip().startswith(fence):
            if not lines[k].startswith(":"):  # options of a {code-block} directive
                body.append(lines[k])
            k += 1
        k += 1
        previous = lines[start - 1].strip() if start else ""
        skip = _SKIP.match(previous)
        reason = skip["reason"].strip() if skip else None
        blocks.append(Block(page, start + 1, language, "\n".join(body) + "\n", reason))
    return blocks


BLOCKS = [block for page in PAGES for block in _blocks(page)]
PYTHON = [b for b in BLOCKS if b.language == "python"]


def test_block_parser(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "Text\n\n```python\nx = 1\n```\n\n% test: skip too slow\n```python\nslow()\n```\n"
        "\n```{code-block} python\n:caption: a caption\ny = 2\n```\n"
        "\n```bash\ntopokit families\n```\n",
        encoding="utf-8",
    )
    blocks = _blocks(page, "page.md")
    assert [(b.line, b.language, b.code, b.skip) for b in blocks] == [
        (3, "python", "x = 1\n", None),
        (8, "python", "slow()\n", "too slow"),
        (12, "python", "y = 2\n", None),
        (17, "bash", "topokit families\n", None),
    ]
    assert _commands("FOO=1 topokit study --list-presets | head -2 && topokit families") == [
        ["study", "--list-presets"],
        ["families"],
    ]


def test_pages_exist():
    names = {str(p.relative_to(DOCS)) for p in PAGES}
    expected = {"getting-started.md", "guides/index.md", "guides/training.md"}
    expected |= {"guides/study-toml.md", "guides/dask.md", "guides/statistics.md"}
    expected |= {"guides/mnist.md"}
    assert expected <= names
    assert PYTHON, "the pages hold no python block"


def test_guides_toctree_lists_every_guide():
    text = (DOCS / "guides" / "index.md").read_text(encoding="utf-8")
    toctree = text.split("{toctree}", 1)[1].split("```", 1)[0]
    listed = {line.strip() for line in toctree.splitlines() if line.strip()}
    listed = {entry for entry in listed if not entry.startswith(":")}
    guides = {p.stem for p in (DOCS / "guides").glob("*.md") if p.stem != "index"}
    assert listed == guides


def test_every_skip_marker_gives_a_reason():
    for block in BLOCKS:
        if block.skip is not None:
            assert block.skip, f"{block.id}: '% test: skip' needs a reason"


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = [b for b in PYTHON if b.page == str(page.relative_to(DOCS)) and b.skip is None]
    if not blocks:
        pytest.skip("no python block to run on this page")
    namespace = {"__name__": "__main__"}
    for block in blocks:
        code = compile(block.code, f"{DOCS / block.page}:{block.line}", "exec")
        try:
            exec(code, namespace)
        except Exception as exc:  # name the block in the failure
            raise AssertionError(f"the python block at {block.id} failed: {exc!r}") from exc


SKIPPED = [b for b in PYTHON if b.skip is not None]


@pytest.mark.parametrize("block", SKIPPED, ids=[b.id for b in SKIPPED])
def test_slow_blocks_are_skipped(block):
    compile(block.code, block.id, "exec")  # at least valid Python
    pytest.skip(f"{block.id}: {block.skip}")


# ------------------------------------------------------------------ commands


_OPERATORS = {"&&", "||", ";", "|", "&"}


def _commands(code: str) -> list[list[str]]:
    """The ``topokit`` command lines of a shell block, split into arguments."""
    text = re.sub(r"\\\n", " ", code)
    commands = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = []
        for token in [*lexer, ";"]:
            if token not in _OPERATORS:
                words.append(token)
                continue
            while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
                words = words[1:]  # VAR=value prefixes
            if words and words[0] == "topokit":
                commands.append(words[1:])
            words = []
    return commands


SHELL = [b for b in BLOCKS if b.language in ("bash", "shell", "console")]
COMMANDS = [(b, argv) for b in SHELL for argv in _commands(b.code)]


def test_shell_blocks_show_commands():
    assert len(COMMANDS) >= 10


@pytest.mark.parametrize(
    ("block", "argv"), COMMANDS, ids=[f"{b.id}:{' '.join(a[:1])}" for b, a in COMMANDS]
)
def test_commands_parse(block, argv):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except (SystemExit, UsageError) as exc:
        raise AssertionError(f"{block.id}: 'topokit {shlex.join(argv)}' does not parse") from exc
    assert callable(args.run)


def test_command_parser_rejects_a_wrong_option():
    # the check above can fail: a misspelt option is refused
    with pytest.raises((SystemExit, UsageError), match="--scheduler"):
        build_parser().parse_args(["study", "--scheduler", "tcp://h:8786"])


# ------------------------------------------------------------------ references


def _import(dotted: str):
    parts = dotted.lstrip("~").split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


ROLES = sorted(
    {
        (str(p.relative_to(DOCS)), m["target"])
        for p in PAGES
        for m in _PY_ROLE.finditer(p.read_text(encoding="utf-8"))
    }
)


@pytest.mark.parametrize(("page", "target"), ROLES, ids=[f"{p}:{t}" for p, t in ROLES])
def test_python_references_exist(page, target):
    name = target.split("<")[-1].rstrip(">").strip()  # {func}`text <target>`
    _import(name)


def test_reference_check_can_fail():
    with pytest.raises(AttributeError):
        _import("topokit.analysis.no_such_function")


DOC_ROLES = sorted(
    {(p, m["target"]) for p in PAGES for m in _DOC_ROLE.finditer(p.read_text(encoding="utf-8"))},
    key=lambda item: (str(item[0]), item[1]),
)


@pytest.mark.parametrize(("page", "target"), DOC_ROLES, ids=[f"{p.name}:{t}" for p, t in DOC_ROLES])
def test_doc_references_exist(page, target):
    name = target.split("<")[-1].rstrip(">").strip()
    base = DOCS if name.startswith("/") else page.parent
    stem = (base / name.lstrip("/")).resolve()
    assert any(stem.with_suffix(s).is_file() for s in (".md", ".rst")), f"{page}: no page {name}"


# ------------------------------------------------------------------ study files


STUDY_FILES = [b for b in BLOCKS if b.language == "toml" and b.code.startswith("# study")]


@pytest.mark.parametrize("block", STUDY_FILES, ids=[b.id for b in STUDY_FILES])
def test_study_files_load(block):
    from topokit.analysis import load_study

    study = load_study(block.code)
    assert study.runs()
