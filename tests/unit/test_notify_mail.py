"""Every emailed kind renders from its templates, text and HTML, with every variant of its
data; the HTML escapes what users wrote, the text keeps it as written."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from commands.notices import EMAILED, Notice
from infra.notify_mail import JinjaEmailTemplates

NAME = "<script>x</script> & Co"
VARIANTS: list[tuple[str, dict[str, Any], str]] = [
    ("purchase.completed", {"purchase_id": "p1", "model_id": "m1", "model_name": NAME,
                            "kind": "plan", "plan": "pro", "amount": "9.00 EUR"},
     "Kind:     plan (pro plan)"),
    ("payment.failed", {"model_name": NAME, "reason": "declined", "subscription": False,
                        "amount": "1.00 EUR", "plan": None}, "Nothing was charged"),
    ("payment.failed", {"model_name": NAME, "reason": "", "subscription": True,
                        "amount": "9.00 EUR", "plan": "pro"}, "is past due"),
    ("budget.warning", {"scope": "API key k1", "month": "2031-01", "percent": 100,
                        "cap": "5.00 USD", "exhausted": True}, "Calls are refused"),
    ("payout.statement", {"payout_id": "po1", "amount": "3.00 EUR", "status": "failed",
                          "failure": "account closed", "transfer_id": None},
     "Failure:  account closed"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "data", "said"), VARIANTS)
def test_an_emailed_kind_renders_text_and_escaped_html(
    kind: str, data: dict[str, Any], said: str
) -> None:
    notice = Notice(str(uuid4()), uuid4(), kind, f"About {NAME}", "2031-01-02T03:04:05+00:00", data)
    email = JinjaEmailTemplates().render(notice, "ada@example.com")
    assert email.to == "ada@example.com" and email.subject == f"aimarket: About {NAME}"
    assert said in email.body
    assert email.html is not None and "<script>" not in email.html
    assert "&lt;script&gt;" in email.html and notice.event_id in email.html
    if "model_name" in data:
        assert NAME in email.body  # text is never parsed as markup: kept as written


def test_every_emailed_kind_has_a_variant_here() -> None:
    assert {kind for kind, _, _ in VARIANTS} == EMAILED
