"""Sub-commands of the ``ranker`` CLI, one module each.

Each module defines ``add_parser(subparsers) -> None`` which registers its
sub-command and sets ``func`` (``(argparse.Namespace) -> int``) as a default.
Add a new module's name to :data:`COMMANDS` to expose it.
"""

COMMANDS: list[str] = ["evaluate", "fit", "organiser", "serve", "simulate"]
