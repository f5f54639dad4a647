"""How ``hacore ... --help`` reads: plain text, every option with its default.

The command modules take their descriptions from their docstrings, which are
written for Sphinx-style readers (````code````, ``:mod:`x```); a terminal shows
that markup literally, so :class:`HelpParser` strips it. Every option's help
line ends with its default: an option whose help does not say it gets
``(default: X)`` appended from the parser (flags read ``off``); one whose
default is None must say in words what happens without it (the test in
tests/test_cli_contract.py holds every command to that).
"""

from __future__ import annotations

import argparse
import re
import textwrap
from typing import Any

_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")  # :mod:`sims.engine` -> sims.engine
_LITERAL = re.compile(r"``([^`]+)``")  # ``code`` -> code
_INTERPRETED = re.compile(r"`([^`]+)`")  # `hacore scenarios` -> hacore scenarios
_EMPHASIS = re.compile(r"\*\*?([^*\s][^*]*?)\*\*?")  # *forwards* -> forwards


def plain(text: str | None) -> str | None:
    """``text`` without reStructuredText inline markup."""
    if text is None:
        return None
    text = _ROLE.sub(r"\1", text)
    text = _LITERAL.sub(r"\1", text)
    text = _INTERPRETED.sub(r"\1", text)
    return _EMPHASIS.sub(r"\1", text)


class PlainHelpFormatter(argparse.HelpFormatter):
    """Prose paragraphs refilled to the terminal, indented blocks (command
    synopses) kept as written; defaults always shown."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out = []
        for para in re.split(r"\n\s*\n", text.strip("\n")):
            lines = para.splitlines()
            if any(line.startswith((" ", "\t")) for line in lines):
                out.append("\n".join(indent + line for line in lines))
            else:
                out.append(
                    textwrap.fill(
                        " ".join(line.strip() for line in lines),
                        width,
                        initial_indent=indent,
                        subsequent_indent=indent,
                    )
                )
        return "\n\n".join(out)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or not action.option_strings or action.required:
            return text
        if action.default is argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
            return text
        if isinstance(action, argparse._StoreTrueAction):
            return f"{text} (default: off)"
        if action.default is None:
            return text
        return f"{text} (default: {action.default})"


class HelpParser(argparse.ArgumentParser):
    """The parser of every ``hacore`` command: plain-text help (see the module).
    Subcommand parsers are made of the same class (argparse creates them with
    the class of their parent)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["formatter_class"] = PlainHelpFormatter
        kwargs["description"] = plain(kwargs.get("description"))
        kwargs["epilog"] = plain(kwargs.get("epilog"))
        super().__init__(*args, **kwargs)


def subparsers_of(parser: argparse.ArgumentParser) -> list[argparse._SubParsersAction[Any]]:
    return [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]


def walk(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """Every parser of the tree with its command words (the root's are "")."""
    out = [(parser.prog, parser)]
    for sub in subparsers_of(parser):
        for child in dict.fromkeys(sub.choices.values()):  # aliases share a parser
            out += walk(child)
    return out


def plain_help(parser: argparse.ArgumentParser) -> None:
    """Strip the markup from every help line of the tree (the options' and the
    subcommands' one-line summaries, which argparse keeps outside the parsers)."""
    for _prog, p in walk(parser):
        for action in p._actions:
            if action.help not in (None, argparse.SUPPRESS):
                action.help = plain(action.help)
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    choice.help = plain(choice.help)
