"""Nobody can lock the platform out: the last active admin stays, even against a race,
and admins act on others, never on themselves. On both event stores, each test on a store
of its own (the rule is about every admin there is)."""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

import pytest

from domain.admin_roster import AdminRoster, LastAdmin, OwnAccount
from domain.errors import DomainError, Forbidden
from domain.user import Role, User
from infra.bootstrap import Container, build_container
from infra.settings import Settings
from tests.plugins.databases import create_database, drop_database
from tests.support import PASSWORD, unique_email


@pytest.fixture
def lone(profile: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Container]:
    """A container over an event store nobody else writes to."""
    if profile == "embedded":
        built = build_container(
            Settings(data_dir=tmp_path, argon2_time_cost=1, argon2_memory_kib=8)
        )
        yield built
        built.close()
        return
    postgres_url: str = request.getfixturevalue("postgres_url")
    cluster: Settings = request.getfixturevalue("cluster_settings")
    name = f"aimarket_roster_{uuid.uuid4().hex[:10]}"
    settings = cluster.model_copy(update={"database_url": create_database(postgres_url, name)})
    built = build_container(settings)
    try:
        yield built
    finally:
        built.close()
        drop_database(postgres_url, name)


def account(container: Container, role: Role = Role.CONSUMER) -> UUID:
    user_id = container.auth.register(unique_email(), PASSWORD, Role.CONSUMER).id
    if role is not Role.CONSUMER:
        container.auth.change_role(user_id, role)  # as `aimarket users set-role` does
    return user_id


def admins(container: Container) -> list[UUID]:
    roster = container.app.load(AdminRoster, AdminRoster.create_id())
    return list(roster.admin_ids)


def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(lone: Container) -> None:
    only = account(lone, Role.ADMIN)
    with pytest.raises(LastAdmin):
        lone.auth.change_role(only, Role.PUBLISHER)  # not even by the operator
    with pytest.raises(LastAdmin):
        lone.auth.deactivate(only)
    other = account(lone, Role.ADMIN)
    lone.auth.deactivate(only, by=other)
    assert admins(lone) == [other]
    with pytest.raises(OwnAccount):
        lone.auth.change_role(other, Role.CONSUMER, by=other)
    lone.auth.reactivate(only, by=other)  # an admin again, so `other` may now go
    lone.auth.change_role(other, Role.CONSUMER, by=only)
    assert admins(lone) == [only]


def test_two_admins_demoting_each_other_at_once_leave_one_admin(lone: Container) -> None:
    """Each round races two demotions; without one point of serialisation both see
    another admin left and the platform ends with none."""
    survivor = account(lone, Role.ADMIN)
    for _ in range(4):
        newcomer = account(lone, Role.ADMIN)
        demote = functools.partial(lone.auth.change_role, role=Role.CONSUMER)
        outcomes = race(
            functools.partial(demote, survivor, by=newcomer),
            functools.partial(demote, newcomer, by=survivor),
        )
        assert outcomes.count("done") == 1 and len(outcomes) == 2, outcomes
        remaining = admins(lone)
        assert len(remaining) == 1
        survivor = remaining[0]
        assert lone.app.load(User, survivor).role == Role.ADMIN


def race(*commands: Callable[[], object]) -> list[str]:
    """Runs the commands at once; what each ended in: "done" or the code it was refused with."""
    barrier, outcomes = threading.Barrier(len(commands)), []

    def run(command: Callable[[], object]) -> None:
        barrier.wait()
        try:
            command()
            outcomes.append("done")
        except (LastAdmin, Forbidden) as refused:
            outcomes.append(refused.code)

    threads = [threading.Thread(target=run, args=(command,)) for command in commands]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_a_roster_is_started_from_the_admins_already_stored(lone: Container) -> None:
    """An event store from before the roster: its admins are found, not forgotten."""
    first, second = account(lone, Role.CONSUMER), account(lone, Role.CONSUMER)
    for user_id in (first, second):  # appointed the old way: no roster saved with them
        user = lone.app.load(User, user_id)
        user.change_role(Role.ADMIN)
        lone.app.save(user)
    lone.auth.deactivate(second, by=first)
    assert admins(lone) == [first]
    with pytest.raises(LastAdmin):
        lone.auth.change_role(first, Role.CONSUMER)


def test_an_admin_who_lost_the_role_cannot_act_on_a_stale_token(lone: Container) -> None:
    first, second = account(lone, Role.ADMIN), account(lone, Role.ADMIN)
    target = account(lone)
    lone.auth.change_role(second, Role.CONSUMER, by=first)
    with pytest.raises(DomainError) as refused:
        lone.auth.deactivate(target, by=second)
    assert refused.value.code == "forbidden"
    assert not lone.app.load(User, target).deactivated
