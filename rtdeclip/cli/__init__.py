"""Command line: ``rtdeclip COMMAND ...``.

Each command lives in its own module with ``register(subparsers)``, which
adds its parser and sets ``func`` (args -> exit code).  This is one of the
two edges (the service is the other) where an error of the
``rtdeclip.errors`` family becomes text: one line, never a traceback.
"""
import argparse
import importlib
import sys

from rtdeclip.errors import RtdeclipError

# modules that add commands; demo is the README's first command
COMMAND_MODULES = ["rtdeclip.cli.demo", "rtdeclip.cli.file", "rtdeclip.cli.live",
                   "rtdeclip.cli.batch", "rtdeclip.cli.serve", "rtdeclip.cli.plugins"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other error (the
    subcommands' parsers are made of the same class)."""

    def error(self, message):
        where = self.prog.split()[-1]
        where = "" if where == "rtdeclip" else f"{where}: "
        self.exit(2, f"rtdeclip: error: {where}{message} (see {self.prog} --help)\n")


def build_parser():
    parser = _Parser(
        prog="rtdeclip", description="Repair clipped audio with SPADE, live or from files.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except RtdeclipError as e:
        print(f"rtdeclip: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("rtdeclip: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
