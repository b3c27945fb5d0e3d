"""Outbound webhooks: SSRF checks, signing, the delivery store and the HTTP sender."""
