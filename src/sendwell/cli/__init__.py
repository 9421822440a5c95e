"""The ``sendwell`` command line (Typer). Each module registers one group of commands."""
