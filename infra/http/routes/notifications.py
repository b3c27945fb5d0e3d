"""The caller's in-app notifications (receipts, payment failures, budget warnings, payout
statements, canceled subscriptions), their read marks and the unread count. A person's
JWT only; someone else's notification is missing (404)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from commands.notifier import NotificationInbox
from infra.http.deps import CurrentUser, Use
from infra.http.params import Limit, NextCursor, PageCursor
from queries.notifications import NotificationQueries

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])
Reads = Annotated[NotificationQueries, Use(NotificationQueries)]
Inbox = Annotated[NotificationInbox, Use(NotificationInbox)]


class NotificationPublic(BaseModel):
    id: UUID = Field(description="The event's id: also the `webhook-id`'s source")
    kind: str = Field(description="purchase.completed, payment.failed, budget.warning, "
                      "payout.statement or subscription.canceled")  # fmt: skip
    title: str
    data: dict[str, Any]
    created_at: datetime
    read: bool
    read_at: datetime | None


class NotificationsPage(BaseModel):
    items: list[NotificationPublic]
    next_cursor: NextCursor
    unread: int = Field(description="The caller's unread notifications, all pages")


class ReadAll(BaseModel):
    marked: int = Field(description="How many were unread")


@router.get("", response_model=NotificationsPage)
def my_notifications(
    caller: CurrentUser, reads: Reads, cursor: PageCursor, limit: Limit = 50
) -> NotificationsPage:
    """The caller's notifications, newest first, and how many are unread."""
    page = reads.mine(caller, limit, cursor)
    return NotificationsPage.model_validate(
        {"items": page.items, "next_cursor": page.next_cursor, "unread": page.unread}
    )


@router.post("/read-all", response_model=ReadAll)
def read_all(caller: CurrentUser, inbox: Inbox) -> ReadAll:
    """Mark every notification of the caller read."""
    return ReadAll(marked=inbox.mark_all_read(caller))


@router.post("/{notification_id}/read", status_code=status.HTTP_204_NO_CONTENT)
def read_one(notification_id: UUID, caller: CurrentUser, inbox: Inbox) -> Response:
    """Mark one notification read (again is fine)."""
    inbox.mark_read(caller, notification_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
