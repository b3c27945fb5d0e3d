"""The user's model commands: `models search|show` (beside the operator's
`models refresh-stats`), `push` with a progress bar, and `infer`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from infra.cli_user_common import EXIT_USAGE, BaseUrl, Json, emit, fail, user_client

Inputs = Annotated[
    list[str] | None,
    typer.Option("--input", "-i", help="NAME=@file.npy, NAME=@file.json or NAME=<JSON>; repeat."),
]


def model_commands(app: typer.Typer, models: typer.Typer) -> None:
    models.command("search")(search)
    models.command("show")(show)
    app.command()(push)
    app.command()(infer)


def search(
    q: Annotated[str | None, typer.Argument(help="Words to look for.")] = None,
    task: Annotated[list[str] | None, typer.Option(help="Any of these tasks.")] = None,
    mine: Annotated[bool, typer.Option(help="Only your own models, drafts too.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """Search the catalogue (no login needed), best first."""
    with user_client(base_url, anonymous=not mine) as sdk:
        page = sdk.models.search(q, limit=limit, mine=mine, task=task)
    emit(as_json, page.raw, ["slug", "name", "task", "publisher", "price", "version", "id"],
         lambda: [[m.slug, m.name, m.task, m.publisher.get("name"), m.price_kind,
                   m.default_version, m.id] for m in page.items],
         title=f"{page.total} models")  # fmt: skip


def show(
    model: Annotated[str, typer.Argument(help="An id, your slug, or publisher_id/slug.")],
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """A model's page: its versions, their status and deployment."""
    with user_client(base_url, anonymous=True) as sdk:
        found = sdk.models.show(model)
    emit(as_json, found.raw, ["version", "status", "deployment", "size", "digest"],
         lambda: [[v.version, v.status, (v.deployment or {}).get("status"), v.size, v.digest]
                  for v in found.versions],
         title=f"{found.name} ({found.slug}, {found.status}) {found.id}")  # fmt: skip


def push(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    model: Annotated[str, typer.Option(help="Your model's slug (made as a draft if new).")],
    version: Annotated[str, typer.Option(help="Semantic version, e.g. 1.0.0.")],
    publish: Annotated[bool, typer.Option(help="Publish once validated.")] = False,
    name: Annotated[str | None, typer.Option(help="A new model's name.")] = None,
    parallel: Annotated[int, typer.Option(min=1, max=32, help="Parts sent at once.")] = 4,
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """Upload an artifact as a new version, resuming after dropped connections."""
    with user_client(base_url) as sdk, _progress(not as_json, path.name) as shown:
        done = sdk.models.push(path, model=model, version=version, publish=publish,
                               name=name, progress=shown, parallel=parallel)  # fmt: skip
    state = "published" if publish else done.status
    emit(as_json, done.raw, ["model", "version", "status", "digest", "size"],
         lambda: [[model, done.version, state, done.digest, done.size]])  # fmt: skip


def _progress(visible: bool, label: str) -> Any:
    """A rich progress bar fed by the upload's (done, total) callback."""
    from contextlib import contextmanager

    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    @contextmanager
    def bar() -> Any:
        if not visible:
            yield None
            return
        with Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(),
                      transient=True) as shown:  # fmt: skip
            task = shown.add_task(f"push {label}", total=None)

            def update(done: int, total: int) -> None:
                shown.update(task, completed=done, total=total)

            yield update

    return bar()


def infer(
    model: Annotated[str, typer.Argument(help="An id, a slug, or publisher_id/slug.")],
    inputs: Inputs = None,
    version: Annotated[str | None, typer.Option(help="Another published version.")] = None,
    save: Annotated[Path | None, typer.Option(help="Write the outputs to this .npz.")] = None,
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """Call a model with inputs from .npy or JSON; print (or save) its outputs and cost."""
    import numpy as np

    tensors = dict(_parse_input(given) for given in inputs or [])
    if not tensors:
        fail("give at least one --input NAME=...", EXIT_USAGE)
    with user_client(base_url) as sdk:
        answer = sdk.models.infer(model, tensors, version=version)
    outputs = {name: np.asarray(value) for name, value in answer.outputs.items()}
    if save is not None:
        np.savez(save, **outputs)  # type: ignore[arg-type]
    body = {**answer.raw, "outputs": {name: a.tolist() for name, a in outputs.items()}}
    cost = f"{answer.cost.amount} {answer.cost.currency} (minor units)"
    emit(as_json, body, ["output", "dtype", "shape", "values"],
         lambda: [[n, a.dtype, list(a.shape), np.array2string(a, threshold=12)]
                  for n, a in outputs.items()],
         title=f"version {answer.version}, cost {cost}")  # fmt: skip


def _parse_input(given: str) -> tuple[str, Any]:
    name, sep, value = given.partition("=")
    if not sep or not name:
        raise typer.BadParameter(f"{given!r}: expected NAME=@file.npy or NAME=<JSON>")
    if value.startswith("@"):
        return name, _read_tensor(Path(value[1:]))
    try:
        return name, json.loads(value)
    except ValueError:
        raise typer.BadParameter(f"input {name!r} is not JSON") from None


def _read_tensor(path: Path) -> Any:
    import numpy as np

    if not path.is_file():
        raise typer.BadParameter(f"{path}: no such file")
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)  # a pickle runs code: never
    try:
        return json.loads(path.read_text())
    except ValueError:
        raise typer.BadParameter(f"{path}: neither .npy nor JSON") from None
