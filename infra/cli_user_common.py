"""What the user's commands share: where the login is kept, the SDK client made from it,
output as tables or JSON, and exit codes a script can rely on:
0 done, 1 the API refused or could not be reached, 2 a usage error, 3 not logged in,
or credentials refused (401) or not allowed (403)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:  # the SDK is imported when a user command runs, not when `aimarket` starts
    from aimarket_client import Client

DEFAULT_URL = "http://127.0.0.1:8000"
EXIT_API, EXIT_USAGE, EXIT_AUTH = 1, 2, 3

BaseUrl = Annotated[
    str | None,
    typer.Option("--base-url", envvar="AIMARKET_URL", help="The API; default: the login's."),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts), not a table.")]


def config_path() -> Path:
    """$XDG_CONFIG_HOME/aimarket/credentials.json (~/.config when unset)."""
    root = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(root) / "aimarket" / "credentials.json"


def load_login() -> dict[str, Any]:
    path = config_path()
    if not path.exists():
        return {}
    loaded = json.loads(path.read_text())
    return loaded if isinstance(loaded, dict) else {}


def save_login(login: dict[str, Any]) -> Path:
    """Written whole, readable by the user only (0600, in a 0700 directory)."""
    path = config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(login, file, indent=2)
    os.chmod(temporary, 0o600)  # an older file of another mode is replaced, not kept
    os.replace(temporary, path)
    return path


def base_url_of(given: str | None) -> str:
    return given or str(load_login().get("base_url") or DEFAULT_URL)


@contextmanager
def user_client(given_url: str | None, anonymous: bool = False) -> Iterator[Client]:
    """A client with the stored login (or $AIMARKET_API_KEY), its errors as exit codes.
    Rotated tokens are saved, and so is the last event position per server: a command
    then reads what the one before it wrote (`keys revoke`, then `keys list`)."""
    from aimarket_client import Client

    login = load_login()
    api_key = os.environ.get("AIMARKET_API_KEY") or login.get("api_key")
    token = login.get("access_token")
    if not anonymous and not api_key and not token:
        fail("not logged in: run `aimarket login` (or set AIMARKET_API_KEY)", EXIT_AUTH)

    def saved(access_token: str, refresh_token: str) -> None:
        login.update(access_token=access_token, refresh_token=refresh_token)
        save_login(login)

    url = base_url_of(given_url)
    positions: dict[str, int] = login.get("positions", {})
    with api_errors(), Client(url, api_key=api_key, access_token=token,
                              refresh_token=login.get("refresh_token"),
                              on_refresh=saved) as sdk:  # fmt: skip
        sdk.session.position = start = positions.get(url, 0)
        yield sdk
    if login and sdk.session.position != start:
        save_login({**login, "positions": {**positions, url: sdk.session.position}})


def fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def api_errors() -> Iterator[None]:
    """The SDK's exceptions as a message on stderr and an exit code."""
    from aimarket_client import AimarketError, AuthenticationError, PermissionDenied

    try:
        yield
    except (AuthenticationError, PermissionDenied) as error:
        fail(str(error), EXIT_AUTH)
    except AimarketError as error:
        fail(str(error), EXIT_API)


def emit(as_json: bool, data: Any, columns: Sequence[str],
         rows: Callable[[], list[Sequence[Any]]], title: str = "") -> None:  # fmt: skip
    """`data` as JSON, or `rows()` under `columns` as a table."""
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, title=title or None)
    for row in rows():
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    Console().print(table)


def money(amount: int, currency: str) -> str:
    """Minor units as an amount: 1250 EUR -> 12.50 EUR (none for yen-like currencies)."""
    digits = 0 if currency in {"JPY", "KRW", "VND", "CLP", "ISK", "UGX"} else 2
    return f"{amount / 10**digits:.{digits}f} {currency}"
