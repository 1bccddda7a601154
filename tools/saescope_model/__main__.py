"""python -m saescope_model export ... | serve ... | bench ..."""

import sys


def run(argv) -> int:
    if not argv or argv[0] not in ("export", "serve", "bench"):
        print("usage: python -m saescope_model {export,serve,bench} ... (--help after any for its options)", file=sys.stderr)
        return 2
    if argv[0] == "serve":
        from .server import main
    elif argv[0] == "bench":
        from .bench import main
    else:
        from .cli import main
    return main(argv[1:])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
