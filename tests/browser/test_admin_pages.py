"""Admin pages in a real browser: find a user by email, change their role, deactivate
them; open a model's audit timeline, its events in order and its state at a version."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from fastapi.testclient import TestClient

from domain.user import Role
from infra.bootstrap import Container
from tests.browser.harness import Browser
from tests.browser.steps import page_is_fine, press, send, sign_in
from tests.inference_support import create_model
from tests.pipeline import wait_until
from tests.support import PASSWORD, verified_account


def test_an_admin_finds_a_user_changes_the_role_and_deactivates_them(
    browser: Browser, client: TestClient, container: Container, outbox: Path
) -> None:
    admin = verified_account(client, outbox)
    container.auth.change_role(UUID(admin.id), Role.ADMIN)  # as `aimarket users set-role`
    user = verified_account(client, outbox)
    sign_in(browser, admin.email)
    browser.open("/admin/users")
    assert page_is_fine(browser)

    unique = user.email.split("@")[0].split("-")[1]  # the address's own word, no other's

    def found() -> bool:
        if container.settings.profile == "cluster":
            container.read.search.refresh("users")  # OpenSearch shows writes after a refresh
        send(browser, browser.find("#user-search"), {"q": unique})
        return [row.text.split()[0] for row in browser.find_all("#users tbody tr")] == [user.email]

    wait_until(found, 30, "the new account searchable")
    send(browser, browser.find("#users form.role"), {"role": "publisher"})
    send(browser, browser.find("#user-search"), {"q": unique})
    assert browser.find("#users form.role option[selected]").text == "publisher"
    press(browser, "#users form.deactivate button", "deactivated")
    send(browser, browser.find("#user-search"), {"q": unique})
    assert browser.text("#users .user-status") == "deactivated"
    again = client.post("/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert again.status_code in (401, 403), again.text


def test_an_admin_reads_a_models_audit_timeline_and_its_state_at_a_version(
    browser: Browser, client: TestClient, container: Container, outbox: Path
) -> None:
    admin = verified_account(client, outbox)
    container.auth.change_role(UUID(admin.id), Role.ADMIN)
    publisher = verified_account(client, outbox, "publisher")
    model_id = create_model(client, publisher, name="Before")
    renamed = client.patch(f"/v1/models/{model_id}", json={"name": "After"},
                           headers=publisher.headers)  # fmt: skip
    assert renamed.status_code == 200, renamed.text
    sign_in(browser, admin.email)
    browser.open("/admin/audit")
    send(browser, browser.find("#audit-form"), {"id": model_id})
    events = [e.text.split()[:2] for e in browser.find_all("#events summary")]
    assert [version for version, _ in events] == ["v1", "v2"]
    assert '"After"' in browser.text("#state pre")
    assert page_is_fine(browser)
    press(browser, "#events li:first-child a", "state-at-v1")
    assert "at version 1" in browser.text("#state h2")
    assert '"Before"' in browser.text("#state pre")
