"""PNG decoding (stdlib zlib) and pixel tolerance, with real PNG bytes."""

from __future__ import annotations

import base64
import io
import random

import pytest

from nbrepro.compare import CompareOptions, compare_outputs
from nbrepro.compare.png import PngUnsupported, decode_png, pixel_difference
from tests.compare.conftest import PNG_BYTES, PNG_PIXELS
from tests.compare.pngs import make_png


def _image(png: bytes, mime: str = "image/png"):
    return [
        {
            "output_type": "display_data",
            "metadata": {"image/png": {"width": 6}},
            "data": {
                mime: base64.b64encode(png).decode(),
                "text/plain": "<IPython.core.display.Image object>",
            },
        }
    ]


def _flat(pixels):
    return b"".join(bytes(px if isinstance(px, tuple) else (px,)) for row in pixels for px in row)


def _random_pixels(width, height, channels, seed):
    rng = random.Random(seed)
    return [
        [tuple(rng.randrange(256) for _ in range(channels)) for _ in range(width)]
        for _ in range(height)
    ]


@pytest.mark.parametrize(("color_type", "channels"), [(0, 1), (2, 3), (4, 2), (6, 4)])
@pytest.mark.parametrize("filters", [(0,), (1,), (2,), (3,), (4,), (4, 3, 2, 1, 0)])
def test_decoder_reverses_every_filter_for_every_colour_type(color_type, channels, filters):
    pixels = _random_pixels(7, 5, channels, seed=color_type * 10 + len(filters))
    image = decode_png(make_png(pixels, color_type=color_type, filters=filters))
    assert (image.width, image.height, image.color_type) == (7, 5, color_type)
    assert b"".join(image.rows) == _flat(pixels)


def test_decoder_matches_pillow_on_an_optimised_png():
    Image = pytest.importorskip("PIL.Image")
    pixels = _random_pixels(40, 30, 4, seed=3)
    for y in range(30):  # smooth regions make the encoder choose Sub/Up/Average/Paeth
        for x in range(20):
            pixels[y][x] = (x * 6, y * 8, (x + y) * 3, 255)
    img = Image.frombytes("RGBA", (40, 30), _flat(pixels))
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", optimize=True)
    decoded = decode_png(buffer.getvalue())
    assert b"".join(decoded.rows) == img.tobytes()


def test_palette_png_is_compared_through_its_colours():
    palette = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    indexed = [[0, 1, 2], [2, 1, 0]]
    rgb = [[palette[i] for i in row] for row in indexed]
    left = decode_png(make_png(indexed, color_type=3, palette=palette))
    right = decode_png(make_png(rgb, color_type=2))
    assert pixel_difference(left, right) == 0
    rgb[1][2] = (1, 2, 3)
    assert pixel_difference(left, decode_png(make_png(rgb, color_type=2))) == 1


def test_kernel_displayed_png_equals_itself_and_the_source_bytes(kernel_runs):
    first, second = kernel_runs["png"]
    assert base64.b64decode(first[0]["data"]["image/png"]) == PNG_BYTES
    assert compare_outputs(first, second, CompareOptions()).equal


def test_changed_pixel_is_reported_as_a_fraction_and_tolerance_forgives_it(kernel_runs):
    expected = kernel_runs["png"][0]
    pixels = [list(row) for row in PNG_PIXELS]
    pixels[2][3] = (0, 0, 0)
    actual = _image(make_png(pixels, color_type=2))
    strict = compare_outputs(expected, actual, CompareOptions())
    assert not strict.equal
    assert strict.summary == "image/png differs: 4.2% of pixels"
    assert "(6x4): 4.2% of pixels (1 of 24) differ" in strict.diff
    assert not compare_outputs(expected, actual, CompareOptions(image_tolerance=0.04)).equal
    lenient = compare_outputs(expected, actual, CompareOptions(image_tolerance=0.05))
    assert lenient.equal
    assert lenient.details == ["image/png: 4.2% of pixels (1 of 24) differ, within tolerance 5.0%"]


def test_same_pixels_with_another_encoding_are_equal_even_without_tolerance():
    reencoded = make_png(
        PNG_PIXELS,
        color_type=2,
        filters=(4,),
        level=1,
        extra_chunks=[(b"tEXt", b"Software\x00other 9.9")],
    )
    assert reencoded != PNG_BYTES
    grey_as_rgba = [[(px[0], px[0], px[0], 255) for px in row] for row in PNG_PIXELS]
    grey = [[px[0] for px in row] for row in PNG_PIXELS]
    result = compare_outputs(_image(PNG_BYTES), _image(reencoded), CompareOptions())
    assert result.equal
    assert result.details == ["image/png: pixels identical (PNG encoding differs)"]
    rgba = make_png(grey_as_rgba, color_type=6)
    assert compare_outputs(
        _image(make_png(grey, color_type=0)), _image(rgba), CompareOptions()
    ).equal


def test_images_of_different_size_differ_by_size():
    bigger = make_png([*PNG_PIXELS, PNG_PIXELS[0]], color_type=2)
    result = compare_outputs(_image(PNG_BYTES), _image(bigger), CompareOptions(image_tolerance=1))
    assert not result.equal
    assert result.summary == "image/png differs: size 6x4 (expected) vs 6x5 (actual)"


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [({"bit_depth": 16}, "16-bit RGB PNG"), ({"interlace": 1}, "interlaced PNG")],
)
def test_unsupported_png_falls_back_to_exact_bytes_and_says_so(kwargs, reason):
    left = make_png(PNG_PIXELS, color_type=2, **kwargs)
    right = make_png(PNG_PIXELS, color_type=2, level=1, **kwargs)
    with pytest.raises(PngUnsupported, match=reason):
        decode_png(left)
    assert compare_outputs(_image(left), _image(left), CompareOptions()).equal
    result = compare_outputs(_image(left), _image(right), CompareOptions(image_tolerance=0.5))
    assert not result.equal
    assert result.summary == f"image/png differs (bytes differ; pixels not compared: {reason})"


def test_other_image_types_compare_bytes():
    result = compare_outputs(
        _image(b"\xff\xd8jpeg1", "image/jpeg"),
        _image(b"\xff\xd8jpeg2", "image/jpeg"),
        CompareOptions(),
    )
    assert not result.equal
    assert result.summary == "image/jpeg differs (bytes differ)"


def test_corrupt_png_is_not_decoded():
    with pytest.raises(PngUnsupported, match="not PNG data"):
        decode_png(b"GIF89a")
    with pytest.raises(PngUnsupported, match="corrupt"):
        decode_png(PNG_BYTES.replace(b"IDAT", b"IDAT\x00\x00", 1)[:-30] + PNG_BYTES[-12:])
