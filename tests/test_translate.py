"""Converting pictures: sizes and names kept, the reference's pixel arithmetic, tiles, folders, progress, cancel."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganstudio.core.generator_files import open_generator, save_generator
from ganstudio.core.errors import ConfigError, DataError
from ganstudio.core.export import read_png_metadata
from ganstudio.core.models.translation import GeneratorSpec
from ganstudio.core.translate import (TrainingScale, Translator, open_translator, pixels_to_tensor, resize_pixels,
                                      tensor_to_pixels, translate_file, translate_folder)
from test_generator_files import random_generator, reference_forward


@pytest.fixture
def weights(tmp_path):
    path = tmp_path / "weights" / "style.pth"
    path.parent.mkdir()
    save_generator(random_generator(GeneratorSpec(filters=4, blocks=2), seed=3), path)
    return path


@pytest.fixture
def translator(weights) -> Translator:
    return open_translator(weights=weights, device="cpu")


def picture(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_pixels_go_in_and_out_as_the_reference_converts_them():
    pixels = picture(8, 12)
    expected = (torch.from_numpy(pixels).permute(2, 0, 1).float() / 255 - 0.5) / 0.5  # ToTensor, Normalize(0.5, 0.5)
    assert torch.equal(pixels_to_tensor(pixels)[0], expected)
    values = torch.tensor([-1.0, -0.5, 0.0, 0.99, 1.0]).view(1, 1, 1, 5).expand(1, 3, 1, 5)
    assert tensor_to_pixels(values)[0, :, 0].tolist() == [0, 63, 127, 253, 255]  # scaled, then truncated


def test_a_picture_keeps_its_size_and_matches_the_reference(translator, weights):
    state = torch.load(weights, weights_only=True)
    pixels = picture(64, 96)
    with torch.no_grad():
        expected = tensor_to_pixels(reference_forward(state, pixels_to_tensor(pixels), blocks=2))
    result = translator.translate_picture(pixels)
    assert result.shape == pixels.shape and result.dtype == np.uint8
    assert np.abs(result.astype(int) - expected).max() <= 1  # float rounding at a truncation boundary, at most


@pytest.mark.parametrize("shape", [(37, 53), (5, 300), (1, 1)])
def test_any_size_works_and_is_kept(translator, shape):
    pixels = picture(*shape)
    result = translator.translate_picture(pixels)
    assert result.shape == pixels.shape


def test_the_antialiased_layout_converts_in_smaller_pieces_for_its_larger_working_memory(tmp_path, monkeypatch):
    """Its first downsampling convolution works at full resolution: about 1.6 times the memory a pixel."""
    import ganstudio.core.translate as translate_module
    monkeypatch.setattr(translate_module, "_memory_budget", lambda device: 2**30)
    pieces = {}
    for sampling in ("strided", "antialiased"):
        path = save_generator(random_generator(GeneratorSpec(filters=8, blocks=1, sampling=sampling)),
                              tmp_path / f"{sampling}.pth")
        pieces[sampling] = open_translator(weights=path, device="cpu").max_pixels
    assert pieces["strided"] == 2**30 // (20 * 8) and pieces["antialiased"] == 2**30 // (32 * 8)


def test_large_pictures_are_tiled_and_blend_smoothly(weights):
    pixels = picture(200, 260, seed=1)
    pixels = np.asarray(Image.fromarray(pixels).resize((130, 100)).resize((260, 200)))  # smooth, like a photo
    whole = open_translator(weights=weights, device="cpu").translate_picture(pixels)
    tiled_translator = open_translator(weights=weights, device="cpu")
    tiled_translator.max_pixels = 128 * 128
    tiled = tiled_translator.translate_picture(pixels)
    assert tiled.shape == whole.shape
    # Each tile is normalised on its own, so tiles differ a little from the whole; blending keeps it small.
    assert np.abs(tiled.astype(float) - whole).mean() < 12


def test_max_side_shrinks_keeping_the_aspect_ratio(translator):
    assert translator.translate_picture(picture(100, 200), max_side=50).shape == (25, 50, 3)


def write_folder(root):
    (root / "sub").mkdir(parents=True)
    Image.fromarray(picture(30, 40, 1)).save(root / "a.jpg")
    Image.fromarray(picture(24, 24, 2)).save(root / "a.png")  # the same name as a.jpg once both are .png
    Image.fromarray(picture(50, 20, 3)).save(root / "sub" / "tall.webp")
    Image.fromarray(picture(8, 8, 4)).convert("RGBA").save(root / "sub" / "alpha.png")
    (root / "notes.txt").write_text("not a picture")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(20))


def test_a_folder_keeps_names_sizes_and_structure(translator, tmp_path):
    source, out = tmp_path / "in", tmp_path / "out"
    write_folder(source)
    calls = []
    result = translate_folder(translator, source, out, progress=lambda done, total, name: calls.append((done, total)))
    written = sorted(str(path.relative_to(out)) for path in result.written)
    assert written == ["a.jpg.png", "a.png.png", "sub/alpha.png", "sub/tall.png"]
    assert Image.open(out / "sub" / "tall.png").size == (20, 50)
    assert Image.open(out / "a.jpg.png").size == (40, 30)
    assert sorted(name for name, _ in result.skipped) == ["broken.jpg", "notes.txt"]
    assert calls == [(index, 6) for index in range(1, 7)] and not result.cancelled
    assert read_png_metadata(out / "sub" / "tall.png")["source"] == "sub/tall.webp"


def test_a_folder_can_be_cancelled_between_pictures(translator, tmp_path):
    source = tmp_path / "in"
    write_folder(source)
    seen = []
    result = translate_folder(translator, source, tmp_path / "out", progress=lambda *args: seen.append(args),
                              cancelled=lambda: len(seen) >= 2)
    assert result.cancelled and len(seen) == 2 and result.total == 6
    assert all(path.is_file() for path in result.written)
    assert not list((tmp_path / "out").rglob("*.tmp"))


def test_the_output_folder_is_never_the_input_and_results_inside_it_are_skipped(translator, tmp_path):
    source = tmp_path / "in"
    write_folder(source)
    with pytest.raises(ConfigError, match="other than the input folder"):
        translate_folder(translator, source, source)
    first = translate_folder(translator, source, source / "converted")
    with pytest.raises(ConfigError, match="4 results would replace files already in .*pass --overwrite"):
        translate_folder(translator, source, source / "converted")
    again = translate_folder(translator, source, source / "converted", overwrite=True)
    assert len(again.written) == len(first.written) and again.total == first.total


def test_a_single_file_goes_to_a_file_or_into_a_folder(translator, tmp_path):
    Image.fromarray(picture(30, 44)).save(tmp_path / "photo.jpg")
    into_folder = translate_file(translator, tmp_path / "photo.jpg", tmp_path / "results")
    assert into_folder == tmp_path / "results" / "photo.png" and Image.open(into_folder).size == (44, 30)
    as_jpeg = translate_file(translator, tmp_path / "photo.jpg", tmp_path / "other.jpg")
    assert Image.open(as_jpeg).format == "JPEG"
    Image.fromarray(picture(8, 8)).save(tmp_path / "same.png")
    with pytest.raises(ConfigError, match="overwrite the original"):
        translate_file(translator, tmp_path / "same.png", tmp_path / "same.png")
    with pytest.raises(DataError, match="notes.txt cannot be converted"):
        (tmp_path / "notes.txt").write_text("hello")
        translate_file(translator, tmp_path / "notes.txt", tmp_path / "x.png")


def test_open_translator_needs_exactly_one_source(weights):
    with pytest.raises(ConfigError):
        open_translator(device="cpu")
    with pytest.raises(ConfigError):
        open_translator(weights=weights, run=weights.parent, device="cpu")
    with pytest.raises(ConfigError, match="AtoB or BtoA"):
        open_translator(weights=weights, direction="sideways", device="cpu")
    assert open_generator(weights).direction is None


def test_running_out_of_memory_retries_in_smaller_tiles(translator, monkeypatch):
    real = translator._whole
    sizes = []

    def tight(image):
        sizes.append(image.shape[-2] * image.shape[-1])
        if image.shape[-2] * image.shape[-1] > 150 * 150:
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes")
        return real(image)

    monkeypatch.setattr(translator, "_whole", tight)
    result = translator.translate_picture(picture(300, 320))
    assert result.shape == (300, 320, 3) and sizes[0] == 300 * 320 and sizes[-1] <= 150 * 150 < len(sizes) * sizes[-1]


def test_the_training_scale_resizes_as_the_run_decoded_its_pictures():
    assert TrainingScale(72, "crop").size_for(64, 96) == (72, 108)  # the shorter side to the load size
    assert TrainingScale(72, "pad").size_for(64, 96) == (48, 72)  # the longer side
    assert TrainingScale(72, "stretch").size_for(64, 96) == (72, 72)
    assert TrainingScale.from_metadata({"training_side": "72", "training_fit": "pad"}) == TrainingScale(72, "pad")
    assert TrainingScale.from_metadata({}) is None
    assert TrainingScale.from_metadata({"training_side": "-3"}) is None
    assert TrainingScale.from_metadata({"training_side": "1000000"}) is None  # a hostile header
    assert TrainingScale.from_metadata({"training_side": "72", "training_fit": "zoom"}) is None


def test_at_the_trained_scale_a_picture_is_converted_there_and_resized_back(weights):
    translator = open_translator(weights=weights, device="cpu")
    assert translator.training_scale is None  # a published file does not say: both scales are full resolution
    source = picture(40, 60, seed=5)
    full = translator.translate_picture(source)
    assert np.array_equal(translator.translate_picture(source, scale="trained"), full)
    translator.training_scale = TrainingScale(24, "crop")
    trained = translator.translate_picture(source)
    assert trained.shape == source.shape
    expected = resize_pixels(translator.translate_picture(resize_pixels(source, 24, 36), scale="full"), 40, 60)
    assert np.array_equal(trained, expected)
    assert np.array_equal(translator.translate_picture(source, scale="full"), full)
    with pytest.raises(ConfigError, match="scale"):
        translator.translate_picture(source, scale="half")
