"""Notification emails from Jinja2 templates (infra/templates/): `<kind>.txt.j2` and
`<kind>.html.j2` per emailed kind, sent as multipart/alternative. HTML is autoescaped (a
model's name is a publisher's text); the text part is not, it is never parsed as markup."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from commands.notices import Notice
from commands.ports import OutgoingEmail


class JinjaEmailTemplates:
    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("infra", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=StrictUndefined,  # a misspelt field fails the test, not the customer
            keep_trailing_newline=True,
        )

    def render(self, notice: Notice, to: str) -> OutgoingEmail:
        name = notice.kind.replace(".", "_")
        context = {"notice": notice, "d": notice.data}
        text = self._env.get_template(f"{name}.txt.j2").render(context)
        html = self._env.get_template(f"{name}.html.j2").render(context)
        return OutgoingEmail(to=to, subject=f"aimarket: {notice.title}", body=text, html=html)
