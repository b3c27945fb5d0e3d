"""The stripe SDK talks to stripe-mock as it would to Stripe."""

from __future__ import annotations

import pytest
import stripe

from tests.plugins.services import StripeEndpoint


@pytest.mark.services("stripe")
def test_customer_created_through_the_sdk_gets_a_stripe_id(stripe_api: StripeEndpoint) -> None:
    client = stripe.StripeClient(
        stripe_api.api_key, base_addresses={"api": stripe_api.api_base}, max_network_retries=0
    )
    customer = client.v1.customers.create(
        params={"email": "buyer@example.com", "metadata": {"aimarket_user": "u-1"}}
    )
    assert customer.id.startswith("cus_")
    assert customer.object == "customer"
