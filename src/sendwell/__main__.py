"""``python -m sendwell``: the same as the ``sendwell`` command."""

from sendwell.cli.entry import main

# Guarded: child processes started with "spawn" import the main module again (as
# ``__mp_main__``), and must not run the command a second time.
if __name__ == "__main__":
    main()
