"""CycleGAN generator files: the reference's key layout, shape detection, strict loading, refusals, export."""

from __future__ import annotations

import json
import struct
import zipfile

import pytest
import torch
import torch.nn.functional as F

from ganstudio.core.generator_files import detect_generator, open_generator, read_weights, save_generator
from ganstudio.core.errors import CheckpointError
from ganstudio.core.models.translation import (BlurDownsample, BlurUpsample, GeneratorSpec, PatchDiscriminator,
                                               ResnetGenerator, init_weights)


def reference_forward(state: dict, images: torch.Tensor, blocks: int, dropout: bool = False) -> torch.Tensor:
    """The reference ResnetGenerator's arithmetic written out with torch.nn.functional, reading each weight by
    the key the reference's own nn.Sequential gives it (instance norm, eval mode)."""
    def conv(x, name, stride=1, padding=0):
        return F.conv2d(x, state[f"{name}.weight"], state.get(f"{name}.bias"), stride, padding)

    def up(x, name):
        return F.conv_transpose2d(x, state[f"{name}.weight"], state.get(f"{name}.bias"), 2, 1, 1)

    def norm(x):
        return F.instance_norm(x, eps=1e-5)

    x = F.relu(norm(conv(F.pad(images, (3, 3, 3, 3), mode="reflect"), "model.1")))
    x = F.relu(norm(conv(x, "model.4", 2, 1)))
    x = F.relu(norm(conv(x, "model.7", 2, 1)))
    second = 6 if dropout else 5
    for index in range(10, 10 + blocks):
        residual = F.relu(norm(conv(F.pad(x, (1, 1, 1, 1), mode="reflect"), f"model.{index}.conv_block.1")))
        residual = norm(conv(F.pad(residual, (1, 1, 1, 1), mode="reflect"), f"model.{index}.conv_block.{second}"))
        x = x + residual
    first_up = 10 + blocks
    x = F.relu(norm(up(x, f"model.{first_up}")))
    x = F.relu(norm(up(x, f"model.{first_up + 3}")))
    return torch.tanh(conv(F.pad(x, (3, 3, 3, 3), mode="reflect"), f"model.{first_up + 7}"))


def random_generator(spec: GeneratorSpec, seed: int = 0) -> ResnetGenerator:
    """A generator with weights spread enough that every layer matters to the output."""
    torch.manual_seed(seed)
    network = ResnetGenerator(spec)
    network.apply(init_weights)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    return network.eval()


def with_obsolete_statistics(network: torch.nn.Module) -> dict:
    """The state dict as PyTorch 0.3 saved it: running statistics for every InstanceNorm layer."""
    state = dict(network.state_dict())
    for name, module in network.named_modules():
        if isinstance(module, torch.nn.InstanceNorm2d):
            state[f"{name}.running_mean"] = torch.randn(module.num_features)
            state[f"{name}.running_var"] = torch.rand(module.num_features) + 0.5
            state[f"{name}.num_batches_tracked"] = torch.tensor(7)
    return state


def test_keys_are_the_reference_layout():
    keys = list(ResnetGenerator(GeneratorSpec(filters=64, blocks=9)).state_dict())
    assert keys[:4] == ["model.1.weight", "model.1.bias", "model.4.weight", "model.4.bias"]
    assert keys[6:8] == ["model.10.conv_block.1.weight", "model.10.conv_block.1.bias"]
    assert "model.10.conv_block.5.weight" in keys and "model.18.conv_block.5.bias" in keys
    assert keys[-6:] == ["model.19.weight", "model.19.bias", "model.22.weight", "model.22.bias",
                         "model.26.weight", "model.26.bias"]
    assert len(keys) == 48
    dropout = list(ResnetGenerator(GeneratorSpec(filters=8, blocks=6, dropout=True)).state_dict())
    assert "model.10.conv_block.6.weight" in dropout and dropout[-2:] == ["model.23.weight", "model.23.bias"]
    discriminator = {key: tuple(value.shape) for key, value in PatchDiscriminator(64).state_dict().items()}
    assert discriminator == {"model.0.weight": (64, 3, 4, 4), "model.0.bias": (64,), "model.2.weight": (128, 64, 4, 4),
                             "model.2.bias": (128,), "model.5.weight": (256, 128, 4, 4), "model.5.bias": (256,),
                             "model.8.weight": (512, 256, 4, 4), "model.8.bias": (512,),
                             "model.11.weight": (1, 512, 4, 4), "model.11.bias": (1,)}


def test_the_antialiased_layout_is_the_cut_tools():
    """CUT's published generators (9 blocks): a stride-1 convolution, then a blur kernel kept as `filt`, at each
    halving; a blur, then a stride-1 convolution, at each doubling."""
    shapes = {key: tuple(value.shape) for key, value in
              ResnetGenerator(GeneratorSpec(filters=64, blocks=9, sampling="antialiased")).state_dict().items()}
    assert [key for key in shapes if key.endswith("filt")] == ["model.7.filt", "model.11.filt", "model.21.filt",
                                                               "model.25.filt"]
    assert shapes["model.7.filt"] == (128, 1, 3, 3) and shapes["model.21.filt"] == (256, 1, 4, 4)
    assert shapes["model.4.weight"] == (128, 64, 3, 3) and shapes["model.8.weight"] == (256, 128, 3, 3)
    assert "model.12.conv_block.1.weight" in shapes and "model.20.conv_block.5.bias" in shapes
    assert shapes["model.22.weight"] == (128, 256, 3, 3) and shapes["model.26.weight"] == (64, 128, 3, 3)
    assert list(shapes)[-2:] == ["model.30.weight", "model.30.bias"] and shapes["model.30.weight"] == (3, 64, 7, 7)


def test_the_blurs_halve_and_double_in_place_without_checkerboards():
    point = torch.zeros(1, 1, 6, 6)
    point[0, 0, 2, 3] = 1.0
    enlarged = BlurUpsample(1)(point)[0, 0]
    # Input pixel i covers output pixels 2i and 2i + 1: the 1-3-3-1 spread is centred on 2i + 0.5.
    expected = torch.zeros(12, 12)
    expected[3:7, 5:9] = torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 16
    assert torch.allclose(enlarged, expected)
    halved = BlurDownsample(1)(torch.ones(1, 1, 8, 8) * torch.arange(8.0))[0, 0]
    assert halved.shape == (4, 4) and torch.allclose(halved[:, 1:], torch.tensor([2.0, 4, 6]).expand(4, 3))
    # A flat picture stays flat through every antialiased layer; the strided layout's transposed convolutions
    # leave a period-2 pattern on it (the checkerboard).
    flat = torch.full((1, 3, 96, 96), 0.3)
    outputs = {}
    for sampling in ("strided", "antialiased"):
        network = random_generator(GeneratorSpec(filters=4, blocks=1, sampling=sampling, norm="batch"), seed=3)
        with torch.no_grad():
            outputs[sampling] = network(flat)[0, :, 40:56, 40:56]  # far from the zero-padded edges
    assert outputs["antialiased"].std(dim=(1, 2)).max() < 1e-5
    assert outputs["strided"].std(dim=(1, 2)).max() > 1e-3


def test_patch_discriminator_sees_70_pixel_patches():
    # Batch norm in eval mode is per pixel; instance norm would spread every gradient over the whole picture.
    network = PatchDiscriminator(4, norm="batch").eval()
    assert network(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)
    image = torch.zeros(1, 3, 256, 256, requires_grad=True)
    network(image)[0, 0, 15, 15].backward()
    rows = image.grad.abs().sum((0, 1, 3)).nonzero()
    assert int(rows.max() - rows.min()) + 1 == 70


@pytest.mark.parametrize("blocks,dropout", [(2, False), (3, True)])
def test_generator_matches_a_functional_recomputation_of_the_reference(blocks, dropout):
    network = random_generator(GeneratorSpec(filters=8, blocks=blocks, dropout=dropout))
    images = torch.rand(2, 3, 36, 52) * 2 - 1
    with torch.no_grad():
        ours = network(images)
        reference = reference_forward(network.state_dict(), images, blocks, dropout)
    assert (ours - reference).abs().max().item() < 1e-5


@pytest.mark.parametrize("legacy", [False, True], ids=["zip-format", "legacy-format"])
@pytest.mark.parametrize("obsolete", [False, True], ids=["clean", "obsolete-instance-norm-keys"])
def test_published_layout_is_detected_and_loaded_strictly(tmp_path, legacy, obsolete):
    spec = GeneratorSpec(filters=8, blocks=3)
    network = random_generator(spec, seed=1)
    state = with_obsolete_statistics(network) if obsolete else network.state_dict()
    path = tmp_path / "horse2zebra.pth"
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)
    opened = open_generator(path)
    assert opened.spec == spec
    assert len(opened.dropped_keys) == (3 * 11 if obsolete else 0)  # 11 InstanceNorm layers, 3 keys each
    images = torch.rand(1, 3, 40, 40) * 2 - 1
    with torch.no_grad():
        assert torch.equal(opened.network(images), network(images))
        assert (opened.network(images) - reference_forward(network.state_dict(), images, 3)).abs().max() < 1e-5


@pytest.mark.parametrize("spec", [GeneratorSpec(filters=16, blocks=9), GeneratorSpec(filters=8, blocks=6, dropout=True),
                                  GeneratorSpec(filters=4, blocks=0), GeneratorSpec(filters=8, blocks=2, norm="batch"),
                                  GeneratorSpec(filters=8, blocks=2, in_channels=1, out_channels=3),
                                  GeneratorSpec(filters=8, blocks=9, sampling="antialiased"),
                                  GeneratorSpec(filters=4, blocks=6, dropout=True, sampling="antialiased")],
                         ids=["9-blocks", "dropout", "no-blocks", "batch-norm", "grey-to-colour", "antialiased",
                              "antialiased-dropout"])
def test_architecture_detection(spec):
    assert detect_generator(ResnetGenerator(spec).state_dict(), "g.pth") == spec


def test_batch_norm_statistics_are_kept_and_used(tmp_path):
    network = random_generator(GeneratorSpec(filters=8, blocks=2, norm="batch"), seed=2)
    network.train()
    with torch.no_grad():
        network(torch.rand(4, 3, 32, 32))  # moves the running statistics off their start
    network.eval()
    torch.save(network.state_dict(), tmp_path / "g.pth")
    opened = open_generator(tmp_path / "g.pth")
    assert opened.dropped_keys == []
    images = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(opened.network(images), network(images))


def test_data_parallel_prefix_and_wrapper_dicts_are_looked_through(tmp_path):
    network = random_generator(GeneratorSpec(filters=4, blocks=1))
    torch.save({"state_dict": {f"module.{k}": v for k, v in network.state_dict().items()}}, tmp_path / "g.pth")
    assert open_generator(tmp_path / "g.pth").spec == GeneratorSpec(filters=4, blocks=1)


def unet_state() -> dict:
    """The first keys of a pix2pix U-Net generator (unet_256): nested 'model.model.' submodules."""
    return {"model.model.0.weight": torch.zeros(64, 3, 4, 4), "model.model.1.model.1.weight": torch.zeros(128, 64, 4, 4),
            "model.model.1.model.2.weight": torch.zeros(128), "model.model.3.weight": torch.zeros(128, 3, 4, 4)}


def bad_files(tmp_path) -> dict:
    """A file of every kind a user might mistake for a generator, and a phrase its refusal must contain."""
    good = random_generator(GeneratorSpec(filters=4, blocks=1)).state_dict()
    files = {}

    def write(name: str, data: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    torch.save(good, tmp_path / "whole.pth")
    complete = (tmp_path / "whole.pth").read_bytes()
    files[write("truncated.pth", complete[:len(complete) // 2])] = "damaged or incomplete"
    torch.save(good, tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    legacy = (tmp_path / "legacy.pth").read_bytes()
    files[write("truncated_legacy.pth", legacy[:len(legacy) // 2])] = "damaged or incomplete"
    files[write("page.pth", b"<!DOCTYPE html><html><head><title>Sign in</title></head></html>")] = "web page (HTML)"
    files[write("empty.pth", b"")] = "empty (0 bytes)"
    files[write("notes.pth", b"these are not weights\n")] = "text file"
    files[write("photo.pth", b"\x89PNG\r\n\x1a\n" + bytes(64))] = "picture"
    files[write("random.pth", bytes(range(256)) * 4)] = "not a weights file"
    torch.save(ResnetGenerator(GeneratorSpec(filters=4, blocks=1)), tmp_path / "pickled_model.pth")
    files[str(tmp_path / "pickled_model.pth")] = "pickled Python objects (ganstudio.core.models.translation.ResnetGenerator)"
    torch.save(unet_state(), tmp_path / "latest_net_G.pth")
    files[str(tmp_path / "latest_net_G.pth")] = "pix2pix U-Net generator"
    torch.save(PatchDiscriminator(8).state_dict(), tmp_path / "latest_net_D_A.pth")
    files[str(tmp_path / "latest_net_D_A.pth")] = "PatchGAN discriminator"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7), "fc.weight": torch.zeros(10, 64)}, tmp_path / "resnet.pth")
    files[str(tmp_path / "resnet.pth")] = "some other network (keys like conv1.weight"
    torch.save(torch.zeros(3, 3), tmp_path / "tensor.pth")
    files[str(tmp_path / "tensor.pth")] = "a single tensor"
    torch.save({"format": "ganstudio-checkpoint", "model": "dcgan", "recipe": {}}, tmp_path / "dcgan.pt")
    files[str(tmp_path / "dcgan.pt")] = "GAN Studio dcgan checkpoint"
    nan = dict(good)
    nan["model.1.weight"] = torch.full_like(nan["model.1.weight"], float("nan"))
    torch.save(nan, tmp_path / "nan.pth")
    files[str(tmp_path / "nan.pth")] = "NaN or infinite"
    wrong_shape = dict(good)
    wrong_shape["model.4.weight"] = torch.zeros(8, 4, 5, 5)
    torch.save(wrong_shape, tmp_path / "wrong_shape.pth")
    files[str(tmp_path / "wrong_shape.pth")] = "does not fit the CycleGAN generator"
    missing = {k: v for k, v in good.items() if k != "model.7.bias"}
    torch.save(missing, tmp_path / "missing.pth")
    files[str(tmp_path / "missing.pth")] = "missing model.7.bias"
    with zipfile.ZipFile(tmp_path / "pictures.pth", "w") as archive:
        archive.writestr("a.txt", "hello")
    files[str(tmp_path / "pictures.pth")] = "zip archive but not a PyTorch file"
    header = json.dumps({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    files[write("cut.safetensors", struct.pack("<Q", len(header)) + header + bytes(8))] = "damaged or incomplete"
    files[str(tmp_path / "nothing_here.pth")] = "There is no file"
    return files


def test_every_bad_file_is_refused_with_one_plain_sentence(tmp_path, monkeypatch):
    files = bad_files(tmp_path)
    real_load = torch.load

    def weights_only_load(*args, **kwargs):
        assert kwargs.get("weights_only") is True, "a file was opened without weights_only=True"
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", weights_only_load)
    for path, phrase in files.items():
        with pytest.raises(CheckpointError) as caught:
            open_generator(path)
        message = str(caught.value)
        assert phrase in message, (path, message)
        assert "\n" not in message and message.endswith(".") and "Traceback" not in message
        assert message.count(". ") == 0 or message.startswith("There is"), message  # one sentence


def test_folder_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="is a folder"):
        read_weights(tmp_path)


def test_export_pth_is_a_plain_reference_state_dict(tmp_path):
    network = random_generator(GeneratorSpec(filters=8, blocks=2)).to(memory_format=torch.channels_last)
    path = save_generator(network, tmp_path / "g.pth")
    state = torch.load(path, weights_only=True)
    assert type(state) is dict and list(state) == list(ResnetGenerator(GeneratorSpec(8, 2)).state_dict())
    assert all(value.is_contiguous() and value.dtype == torch.float32 for value in state.values())
    images = torch.rand(1, 3, 24, 24) * 2 - 1
    with torch.no_grad():
        assert (reference_forward(state, images, 2) - network(images)).abs().max() < 1e-5
        assert torch.equal(open_generator(path).network(images), network.to(memory_format=torch.contiguous_format)(images))


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_an_antialiased_generator_round_trips_and_altered_blurs_are_refused(tmp_path, suffix):
    spec = GeneratorSpec(filters=8, blocks=2, sampling="antialiased")
    network = random_generator(spec, seed=4)
    path = save_generator(network, tmp_path / f"cut{suffix}")
    opened = open_generator(path)
    assert opened.spec == spec and "anti-aliased" in opened.note
    images = torch.rand(1, 3, 24, 24) * 2 - 1
    with torch.no_grad():
        assert torch.equal(opened.network(images), network(images))
    state = dict(network.state_dict())
    state["model.11.filt"] = state["model.11.filt"] * 2
    torch.save(state, tmp_path / "altered.pth")
    with pytest.raises(CheckpointError, match="blur kernels") as refused:
        open_generator(tmp_path / "altered.pth")
    assert "\n" not in str(refused.value)


def test_export_safetensors_reloads_with_its_metadata(tmp_path):
    from safetensors import safe_open

    network = random_generator(GeneratorSpec(filters=8, blocks=2))
    path = save_generator(network, tmp_path / "g.safetensors", {"direction": "BtoA", "run": "demo"})
    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata()
    assert metadata["direction"] == "BtoA" and metadata["filters"] == "8" and metadata["blocks"] == "2"
    opened = open_generator(path)
    assert opened.direction == "BtoA" and opened.spec == GeneratorSpec(filters=8, blocks=2)
    images = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        assert torch.equal(opened.network(images), network(images))


def test_export_refuses_other_suffixes(tmp_path):
    with pytest.raises(CheckpointError, match="name the file .pth or .safetensors"):
        save_generator(random_generator(GeneratorSpec(filters=4, blocks=1)), tmp_path / "g.onnx")
