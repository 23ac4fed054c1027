"""``.. topokit-cli::``: the command-line reference, generated from ``build_parser()``.

One section per command (``topokit`` itself first, then each subcommand in the order of
``topokit.cli._COMMANDS``), labelled ``cli-<command>`` (``cli-topokit`` for the program),
with the usage line, the description, every argument by group (option strings, metavar,
help with ``%(default)s`` expanded, choices) and the epilog's examples as a literal block.
Nothing is written by hand, so the page cannot fall behind the parser.
"""

from __future__ import annotations

import argparse
import os

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

__all__ = ["command_parsers", "setup"]

_WIDTH = 90  # columns of the usage lines


def command_parsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """``[(name, parser), ...]``: the program, then every subcommand (recursively)."""
    found = [(parser.prog, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.extend(command_parsers(sub))
    return found


def _subcommand_help(parser: argparse.ArgumentParser) -> dict[str, str]:
    """``{prog of subparser: its one-line help}`` from the parent's subparsers action."""
    helps = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                helps[action.choices[choice.dest].prog] = choice.help or ""
    return helps


def _paragraphs(text: str) -> list[nodes.Node]:
    """Blank-line separated paragraphs; a block whose lines are indented stays literal."""
    result = []
    for block in text.strip("\n").split("\n\n"):
        lines = block.split("\n")
        if not block.strip():
            continue
        if all(line.startswith("  ") for line in lines if line.strip()):
            literal = "\n".join(line[2:] for line in lines)
            result.append(nodes.literal_block(literal, literal))
        else:
            result.append(nodes.paragraph(text=" ".join(line.strip() for line in lines)))
    return result


def _epilog(text: str) -> list[nodes.Node]:
    """The epilog: an ``examples:`` block (literal) and any prose around it."""
    result = []
    lines = text.strip("\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith(":") and not line.startswith(" ") and i + 1 < len(lines):
            block = []
            i += 1
            while i < len(lines) and (lines[i].startswith(" ") or not lines[i].strip()):
                if lines[i].strip() or block:
                    block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            indent = min(len(b) - len(b.lstrip()) for b in block if b.strip())
            literal = "\n".join(b[indent:] for b in block)
            result.append(nodes.rubric(text=line.strip().rstrip(":").capitalize()))
            result.append(nodes.literal_block(literal, literal, language="text"))
            continue
        prose = []
        while i < len(lines) and not (
            lines[i].rstrip().endswith(":") and not lines[i].startswith(" ")
        ):
            prose.append(lines[i])
            i += 1
        result.extend(_paragraphs("\n".join(prose)))
    return result


def _invocation(action: argparse.Action, formatter: argparse.HelpFormatter) -> str:
    """How the argument is written: ``--density D``, ``-p KEY=VALUE, --param KEY=VALUE``."""
    return formatter._format_action_invocation(action)


def _argument_item(action: argparse.Action, formatter: argparse.HelpFormatter):
    term = nodes.term()
    term += nodes.literal(text=_invocation(action, formatter))
    definition = nodes.definition()
    help_text = formatter._expand_help(action) if action.help else ""
    if help_text:
        definition += nodes.paragraph(text=help_text)
    shown = action.metavar is None  # argparse then writes the choices as {a,b,c}
    if action.choices is not None and not shown:
        choices = nodes.paragraph(text="Choices: ")
        for k, choice in enumerate(action.choices):
            if k:
                choices += nodes.Text(", ")
            choices += nodes.literal(text=str(choice))
        definition += choices
    item = nodes.definition_list_item()
    item += term
    item += definition
    return item


def _arguments(parser: argparse.ArgumentParser) -> list[nodes.Node]:
    """One rubric and definition list per argument group that has arguments."""
    formatter = parser._get_formatter()
    result = []
    for group in parser._action_groups:
        actions = [
            action
            for action in group._group_actions
            if action.help is not argparse.SUPPRESS
            and not isinstance(action, argparse._SubParsersAction)
        ]
        if not actions:
            continue
        result.append(nodes.rubric(text=group.title.capitalize()))
        if group.description:
            result.append(nodes.paragraph(text=group.description))
        items = nodes.definition_list(classes=["topokit-cli-arguments"])
        for action in actions:
            items += _argument_item(action, formatter)
        result.append(items)
    return result


def _commands_table(parser: argparse.ArgumentParser, helps: dict[str, str]) -> nodes.Node:
    """The program's list of commands, each linking to its section."""
    items = nodes.bullet_list()
    for prog, text in helps.items():
        name = prog.split()[-1]
        paragraph = nodes.paragraph()
        reference = nodes.reference("", "", internal=True, refid=_label(prog))
        reference += nodes.literal(text=name)
        paragraph += reference
        paragraph += nodes.Text(f": {text}")
        items += nodes.list_item("", paragraph)
    return items


def _usage(parser: argparse.ArgumentParser) -> str:
    """The usage line without ``usage: ``, continuation lines shifted to match."""
    prefix = "usage: "
    lines = parser.format_usage().rstrip().split("\n")
    first = lines[0].removeprefix(prefix)
    rest = [line.removeprefix(" " * len(prefix)) for line in lines[1:]]
    return "\n".join([first, *rest])


def _label(prog: str) -> str:
    return "cli-" + prog.split()[-1]


class TopokitCliDirective(SphinxDirective):
    """Render every command of ``topokit.cli.build_parser()`` as a section."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from topokit.cli import build_parser

        self.env.note_dependency(__file__)
        columns = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = str(_WIDTH)  # argparse wraps usage lines to the terminal
        try:
            return self._sections(build_parser())
        finally:
            if columns is None:
                del os.environ["COLUMNS"]
            else:
                os.environ["COLUMNS"] = columns

    def _sections(self, parser: argparse.ArgumentParser) -> list[nodes.Node]:
        helps = _subcommand_help(parser)
        sections = []
        for prog, command in command_parsers(parser):
            label = _label(prog)
            section = nodes.section(ids=[label], names=[label])
            section += nodes.title(text=prog)
            if helps.get(prog):
                section += nodes.paragraph(text=helps[prog][0].upper() + helps[prog][1:] + ".")
            usage = _usage(command)
            section += nodes.literal_block(usage, usage, language="text")
            if command.description:
                section.extend(_paragraphs(command.description))
            if command is parser:
                section += nodes.rubric(text="Commands")
                section += _commands_table(parser, helps)
            section.extend(_arguments(command))
            if command.epilog:
                section.extend(_epilog(command.epilog))
            self.state.document.note_explicit_target(section)
            sections.append(section)
        return sections


def setup(app):
    app.add_directive("topokit-cli", TopokitCliDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
