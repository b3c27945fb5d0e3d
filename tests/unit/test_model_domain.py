"""The Model aggregate's rules: semver order, default version and rollback, pricing."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput, NotFound
from domain.model import (
    Model,
    ModelNotActive,
    ModelNotFound,
    NotModelOwner,
    VersionExists,
    WrongVersionStatus,
)
from domain.model_details import clean_details
from domain.pricing import FREE, InvalidPricing, Money, Pricing, next_period_start
from domain.semver import InvalidVersion, SemVer, canonical

# Semantic versions


def test_semver_precedence_follows_the_spec_example() -> None:
    ordered = [
        "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
        "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "1.10.0", "2.0.0",
    ]  # fmt: skip
    shuffled = ordered[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=SemVer.parse) == ordered


@pytest.mark.parametrize(
    "text", ["1", "1.2", "01.2.3", "1.2.3-", "1.2.3-01", "v1.2.3", "1.2.3.4", " 1.2.3", "x" * 70]
)
def test_invalid_versions_are_refused_with_a_code(text: str) -> None:
    with pytest.raises(InvalidVersion) as raised:
        SemVer.parse(text)
    assert raised.value.code == "invalid_version"


def test_build_metadata_does_not_make_another_version() -> None:
    assert SemVer.parse("1.2.3+build.5") == SemVer.parse("1.2.3")
    assert canonical("1.2.3+build.5") == "1.2.3"


identifiers = st.one_of(
    st.integers(0, 50).map(str),
    st.text("abcxyz-", min_size=1, max_size=4).filter(lambda s: not s.isdigit()),
)
versions = st.builds(
    lambda major, minor, patch, pre: SemVer(major, minor, patch, tuple(pre)),
    st.integers(0, 20),
    st.integers(0, 20),
    st.integers(0, 20),
    st.lists(identifiers, max_size=3),
)


@given(versions)
def test_a_version_reads_back_as_itself(version: SemVer) -> None:
    assert SemVer.parse(str(version)) == version


@given(versions, versions, versions)
def test_precedence_is_a_total_order(a: SemVer, b: SemVer, c: SemVer) -> None:
    assert sum([a < b, a == b, b < a]) == 1
    if a < b and b < c:
        assert a < c


@given(versions)
def test_a_prerelease_comes_before_its_release(version: SemVer) -> None:
    release = SemVer(version.major, version.minor, version.patch)
    assert version <= release
    assert (version < release) == version.is_prerelease


# Default version and rollback


def new_model(**details: Any) -> Model:
    return Model(
        publisher_id=uuid4(),
        publisher_name="acme",
        slug="m",
        details={"name": "M", **details},
        pricing=FREE.as_dict(),
    )


def published(model: Model, *numbers: str) -> Model:
    for number in numbers:
        model.upload_version(number, "sha256:" + "0" * 64, 10, uuid4())
        model.validate_version(number, "onnx", {"inputs": [], "outputs": []})
        model.publish_version(number)
    return model


@settings(max_examples=60)
@given(
    st.lists(st.tuples(st.sampled_from(["up", "ok", "no", "pub", "def"]), versions), max_size=25)
)
def test_the_default_is_always_a_published_version(steps: list[tuple[str, SemVer]]) -> None:
    model = new_model()
    for step, version in steps:
        text = str(version)
        try:
            if step == "up":
                model.upload_version(text, "sha256:" + "1" * 64, 1, uuid4())
            elif step == "ok":
                model.validate_version(text, "onnx", {})
            elif step == "no":
                model.reject_version(text, ["bad"])
            elif step == "pub":
                model.publish_version(text)
            else:
                model.set_default_version(text)
        except (InvalidInput, WrongVersionStatus, VersionExists, NotFound):
            pass  # refused steps change nothing; the invariant must still hold
        published_now = model.published_versions()
        assert (model.default_version is None) == (not published_now)
        assert model.default_version is None or model.default_version in published_now


def test_rollback_moves_the_default_to_an_earlier_published_version() -> None:
    model = published(new_model(), "1.0.0", "1.1.0", "2.0.0-rc.1")
    assert model.default_version == "1.0.0"  # the first published becomes the default
    model.set_default_version("1.1.0")
    model.set_default_version("1.0.0")  # rollback
    assert model.default_version == "1.0.0"
    assert model.published_versions() == ["1.0.0", "1.1.0", "2.0.0-rc.1"]
    model.upload_version("3.0.0", "sha256:" + "2" * 64, 1, uuid4())
    with pytest.raises(WrongVersionStatus):
        model.set_default_version("3.0.0")  # not published: cannot serve as default


def test_a_version_number_is_used_once_unless_it_was_rejected() -> None:
    model = published(new_model(), "1.0.0")
    with pytest.raises(VersionExists):
        model.upload_version("1.0.0+rebuild", "sha256:" + "3" * 64, 1, uuid4())
    model.upload_version("1.1.0", "sha256:" + "4" * 64, 1, uuid4())
    model.reject_version("1.1.0", ["not onnx"])
    model.upload_version("1.1.0", "sha256:" + "5" * 64, 1, uuid4())  # a fixed artifact
    assert model.version_info("1.1.0")["status"] == "uploaded"


def test_first_publication_publishes_the_model_and_deprecation_freezes_it() -> None:
    model = new_model()
    assert model.status == "draft"
    with pytest.raises(ModelNotActive):
        model.deprecate("no")
    published(model, "1.0.0")
    assert model.status == "published"
    model.deprecate("superseded by v2")
    with pytest.raises(ModelNotActive):
        model.upload_version("1.1.0", "sha256:" + "6" * 64, 1, uuid4())
    model.delete()
    with pytest.raises(ModelNotFound):
        model.check_visible(model.publisher_id)


def test_others_get_404_for_private_and_403_for_public_models() -> None:
    model = new_model(visibility="private")
    stranger = uuid4()
    with pytest.raises(ModelNotFound):
        model.check_can_change(stranger)
    model.update_details({"visibility": "public"}, "acme")
    with pytest.raises(NotModelOwner):
        model.check_can_change(stranger)
    model.check_can_change(stranger, is_admin=True)
    model.check_can_change(model.publisher_id)


def test_details_are_validated_and_normalised() -> None:
    assert clean_details({"tags": ["Vision", "vision", "ImageNet"]}) == {
        "tags": ["vision", "imagenet"]
    }
    for bad in ({"framework": "caffe9"}, {"visibility": "secret"}, {"tags": ["a b"]}):
        with pytest.raises(InvalidInput):
            clean_details(bad)


# Pricing in integer minor units, never retroactive


@pytest.mark.parametrize("amount", [2.5, "250", True, -1, None])
def test_amounts_must_be_non_negative_integers(amount: object) -> None:
    with pytest.raises(InvalidPricing):
        Money.of(amount, "EUR")


def test_one_currency_per_price_list() -> None:
    pricing = Pricing.from_dict(
        {"currency": "EUR", "price_per_request": 3, "purchase_price": 9900,
         "plans": [{"name": "pro", "monthly_price": 1900, "included_requests": 10_000}]}
    )  # fmt: skip
    assert pricing.plans[0].monthly_price == Money(1900, "EUR")
    assert not pricing.is_free and FREE.is_free
    with pytest.raises(InvalidPricing):
        Pricing.from_dict({"currency": "eur"})


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@given(instants, st.integers(1, 10_000), st.integers(0, 90 * 24))
def test_a_price_change_never_reaches_back_into_a_started_period(
    changed_at: datetime, new_price: int, hours_later: int
) -> None:
    model = published(new_model(), "1.0.0")
    before = model.pricing_at(changed_at)
    effective = model.change_pricing(
        Pricing(currency="USD", price_per_request=new_price), changed_at
    )
    assert datetime.fromisoformat(effective) == next_period_start(changed_at)
    probe = changed_at + timedelta(hours=hours_later)
    expected = before if probe < next_period_start(changed_at) else model.pricing_at(probe)
    assert model.pricing_at(probe) == expected
    if probe >= next_period_start(changed_at):
        assert model.pricing_at(probe).price_per_request == new_price


def test_a_draft_model_may_change_its_prices_at_once() -> None:
    model = new_model()
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    model.change_pricing(Pricing(currency="EUR", price_per_request=7), now)
    assert model.pricing_at(now).price_per_request == 7
