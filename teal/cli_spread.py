"""dbt's ``-s a b --exclude c d``: several values after one selection flag.

click takes one value per occurrence of an option, so ``teal build -s a b`` failed with
"Got unexpected extra argument (b)" where dbt builds both (its ``--select``,
``--exclude`` and ``--resource-type`` take every word up to the next option). A group
of this class hands its commands their arguments with such words spread out, each
after its own flag, before click parses them:

>>> import click
>>> @click.command()
... @click.option("-s", "--select", multiple=True)
... @click.option("--vars")
... def build(select, vars): ...
>>> spread_option_values(build, ["-s", "a", "b", "--vars", "x", "--select=c", "d"])
['-s', 'a', '-s', 'b', '--vars', 'x', '--select=c', '--select', 'd']
"""

from __future__ import annotations

import click

# dbt's MultiOption flags, and --selector (dbt's takes one name; several do no harm)
SPREAD = ("-s", "--select", "--exclude", "--resource-type", "--selector")


def spread_option_values(command: click.Command, args: list[str]) -> list[str]:
    """``args`` with each extra word after a spreading flag given that flag again."""
    flags = {
        opt
        for p in command.params
        if isinstance(p, click.Option) and p.multiple
        for opt in p.opts
        if opt in SPREAD
    }
    if not flags:
        return args
    out: list[str] = []
    flag: str | None = None  # the spreading flag the words read now belong to
    value_next = False  # the word after the flag itself is its own value
    for at, arg in enumerate(args):
        if arg == "--":  # what follows is positional, as click reads it
            return out + args[at:]
        if arg.startswith("-") and len(arg) > 1:
            name = arg.split("=", 1)[0]
            flag = name if name in flags else None
            value_next = flag is not None and "=" not in arg
            out.append(arg)
        elif flag is not None and not value_next:
            out += [flag, arg]
        else:
            out.append(arg)
            value_next = False
    return out


class SpreadingGroup(click.Group):
    """A group whose commands take dbt's several words after ``-s``/``--exclude``."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None and not isinstance(command, click.Group):
            rest = spread_option_values(command, rest)
        return name, command, rest
