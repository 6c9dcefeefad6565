"""CLI subcommands by area; each module has register(command)."""
