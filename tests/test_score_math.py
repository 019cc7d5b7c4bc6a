"""The mathematics of `ganstudio score`: the Fréchet distance against its closed form, KID's estimator unbiased
against a brute-force expectation, identical sets at about zero, and the spread that tells variety."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from ganstudio.core.feature_distances import (feature_spread, frechet_distance, kernel_distance,
                                              kernel_distance_estimates, polynomial_kernel, variety)


def gaussian_samples(mean, cov, count, seed):
    draws = np.random.default_rng(seed).multivariate_normal(mean, cov, size=count)
    return torch.from_numpy(draws)


def frechet_closed_form_2d(mean_a, cov_a, mean_b, cov_b) -> float:
    """|m_a - m_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) for 2 x 2 covariances, without any matrix root.

    S_a S_b has real non-negative eigenvalues l1, l2, so Tr (S_a S_b)^(1/2) = sqrt(l1) + sqrt(l2)
    = sqrt(Tr(S_a S_b) + 2 sqrt(det S_a det S_b)).
    """
    difference = np.subtract(mean_a, mean_b)
    cross = np.sqrt(np.trace(cov_a @ cov_b) + 2 * np.sqrt(np.linalg.det(cov_a) * np.linalg.det(cov_b)))
    return float(difference @ difference + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


COV_A = np.array([[1.0, 0.6], [0.6, 2.0]])
COV_B = np.array([[0.5, -0.3], [-0.3, 1.5]])


@pytest.mark.parametrize("mean_b, cov_b", [((0.0, 0.0), COV_B), ((1.0, -2.0), COV_A), ((1.0, -2.0), COV_B)])
def test_the_frechet_distance_of_gaussian_samples_matches_the_closed_form(mean_b, cov_b):
    a = gaussian_samples((0.0, 0.0), COV_A, 200_000, seed=1)
    b = gaussian_samples(mean_b, cov_b, 200_000, seed=2)
    expected = frechet_closed_form_2d((0.0, 0.0), COV_A, mean_b, cov_b)
    # Sampling moves the smallest case (0.43) by about 0.02 between pairs of 20,000 draws (four pairs: 0.41 to
    # 0.45); 200,000 a side bring that to about 0.006, within the 5% asked.
    assert frechet_distance(a, b) == pytest.approx(expected, rel=0.05, abs=0.01)


def test_the_frechet_distance_in_more_dimensions_matches_the_diagonal_closed_form():
    # Diagonal covariances commute: the distance is |m_a - m_b|^2 + sum (s_a - s_b)^2 over the standard deviations.
    draws = torch.Generator().manual_seed(3)
    scales_a, scales_b = torch.linspace(0.5, 2.0, 8, dtype=torch.float64), torch.linspace(1.5, 0.5, 8, dtype=torch.float64)
    a = torch.randn(40_000, 8, generator=draws, dtype=torch.float64) * scales_a
    b = torch.randn(40_000, 8, generator=draws, dtype=torch.float64) * scales_b + 0.25
    expected = float(8 * 0.25 ** 2 + ((scales_a - scales_b) ** 2).sum())
    assert frechet_distance(a, b) == pytest.approx(expected, rel=0.05)


def test_identical_sets_have_a_frechet_distance_of_about_zero():
    features = torch.randn(500, 32, generator=torch.Generator().manual_seed(4))
    # Rounding only: the distance of a set from itself is 0 up to float64's precision on traces near 32.
    assert abs(frechet_distance(features, features.clone())) < 1e-6
    assert frechet_distance(features, features + 0.5) == pytest.approx(32 * 0.25, rel=1e-6)


def test_fewer_than_two_pictures_have_no_frechet_distance():
    with pytest.raises(ValueError, match="at least two"):
        frechet_distance(torch.zeros(1, 4), torch.zeros(5, 4))


SUPPORT = torch.tensor([[0.0, 1.0], [2.0, -1.0], [-1.5, 0.5]], dtype=torch.float64)


def exact_mmd(p: np.ndarray, q: np.ndarray) -> float:
    """MMD^2 between two distributions on SUPPORT under KID's kernel, from the kernel between support points."""
    kernel = polynomial_kernel(SUPPORT, SUPPORT).numpy()
    return float(p @ kernel @ p + q @ kernel @ q - 2 * p @ kernel @ q)


def expected_estimate(p: np.ndarray, q: np.ndarray, size: int) -> float:
    """The estimator's exact expectation: its value on every possible pair of samples of `size` a side from
    the two distributions, weighted by how likely that pair is (3^(2 x size) pairs)."""
    total = 0.0
    for xs in itertools.product(range(3), repeat=size):
        for ys in itertools.product(range(3), repeat=size):
            weight = np.prod(p[list(xs)]) * np.prod(q[list(ys)])
            total += weight * kernel_distance(SUPPORT[list(xs)], SUPPORT[list(ys)], subsets=1, subset_size=size)
    return total


@pytest.mark.parametrize("size", [2, 3])
def test_the_kid_estimator_is_unbiased_by_brute_force(size):
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.1, 0.3, 0.6])
    assert expected_estimate(p, q, size) == pytest.approx(exact_mmd(p, q), rel=1e-9)
    # Equal distributions: MMD^2 is 0, and so is the estimator's expectation, though single draws are not 0.
    assert exact_mmd(p, p) == pytest.approx(0.0, abs=1e-9)
    assert expected_estimate(p, p, size) == pytest.approx(0.0, abs=1e-9)
    single = kernel_distance(SUPPORT[[0, 1]], SUPPORT[[2, 2]], subsets=1, subset_size=2)
    assert abs(single) > 0.1


def test_the_subsets_estimates_give_the_kid_and_its_spread():
    draws = torch.Generator().manual_seed(8)
    real, fake = torch.randn(300, 16, generator=draws), torch.randn(300, 16, generator=draws) + 0.3
    estimates = kernel_distance_estimates(real, fake, subsets=20, subset_size=100)
    assert estimates.shape == (20,) and float(estimates.std()) > 0
    assert float(estimates.mean()) == pytest.approx(kernel_distance(real, fake, subsets=20, subset_size=100))


def test_the_spread_is_half_the_mean_squared_distance_and_variety_compares_it_with_the_real_ones():
    features = torch.randn(50, 6, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    pairs = torch.cdist(features, features) ** 2
    assert feature_spread(features) == pytest.approx(float(pairs.sum() / (50 * 49)) / 2, rel=1e-9)
    assert variety(features, features * 0.5) == pytest.approx(0.25, rel=1e-9)
    assert variety(features, features[:1].repeat(10, 1)) == 0.0
