"""Jinja2 templates of the notification emails, text and HTML (infra/notify_mail.py)."""
