"""An image through the playground in Chromium, on both profiles: a model whose input is
image-shaped gets a file input; the PNG a person picks is drawn to a canvas, sent as the
tensor of its pixels, and the page shows what the model made of exactly those pixels."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from infra.bootstrap import Container
from tests.browser.harness import Browser, wait_for
from tests.browser.steps import sign_in
from tests.inference_support import (
    create_model,
    image_model,
    run_directly,
    upload_and_publish,
    wait_deployed,
)
from tests.support import verified_account


def png(pixels: np.ndarray) -> bytes:
    """`pixels` (height, width, 3) uint8 as an 8-bit RGB PNG (no Pillow here)."""
    height, width, _ = pixels.shape
    rows = b"".join(b"\0" + row.tobytes() for row in pixels)  # filter 0: the row as it is

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))  # fmt: skip


def as_tensor(pixels: np.ndarray, layout: str) -> np.ndarray:
    """The tensor the model should see: channels scaled to 0..1 in the input's layout, one
    channel the image's grey (ITU-R 601 luma, as Pillow's "L")."""
    values = pixels.astype(np.float32) / 255
    if layout == "nhwc-grey":
        return (values @ np.array([0.299, 0.587, 0.114], np.float32))[None, :, :, None]
    return values.transpose(2, 0, 1)[None]


@pytest.mark.parametrize(("layout", "shape"), [("nchw", (3, 8, 8)), ("nhwc-grey", (8, 8, 1))])
def test_a_png_picked_in_the_playground_is_the_tensor_the_model_sees(
    browser: Browser, client: TestClient, container: Container, outbox: Path, tmp_path: Path,
    layout: str, shape: tuple[int, int, int],
) -> None:  # fmt: skip
    publisher = verified_account(client, outbox, "publisher")
    model = image_model(shape)
    model_id = create_model(client, publisher, name=f"Pixels {layout}")
    upload_and_publish(client, publisher, model_id, model)
    assert wait_deployed(container, model_id) == "deployed"
    pixels = np.random.default_rng(3).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    picture = tmp_path / "pixels.png"
    picture.write_bytes(png(pixels))

    sign_in(browser, verified_account(client, outbox).email)
    browser.open(f"/models/{model_id}")
    browser.find('#playground [data-kind="image"] input[type="file"]').send_keys(str(picture))
    browser.find("#playground button[type=submit]").click()
    out = wait_for(browser, "#play-out")
    browser.screenshot("image-played")
    expected = run_directly(model, as_tensor(pixels, layout), "image")
    assert np.allclose(np.array(json.loads(out.text)["y"]), expected, atol=1e-3)
    browser.check_accessible()
