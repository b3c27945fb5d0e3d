"""`python -m infra` is the `aimarket` command."""

from infra.cli import main

main()
