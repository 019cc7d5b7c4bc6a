"""The health line: plain warnings drawn from the stream of quality checks, each said once per condition.

Two rules, fed one check at a time (the score that ranks checkpoints, and the samples' variety when the
metric reports it), so they are tested on made-up streams without training:

- **No progress.** A check counts as progress only when it beats the best so far by more than the
  score's noise: at the CPU counts KID x 10^3 moves by 3 to 10 between checks by chance alone (four
  sets of real pictures spread by 3.3; see core/metrics/kid.py), and more where it is large. After
  STALL_CHECKS checks without progress (24 training minutes at a check every 3) the run is told that
  this is a good time to stop. Progress re-arms the warning.
- **Losing variety.** The samples' feature spread as a fraction of the real pictures' (1 for as varied
  as the data). When it falls below LOW_VARIETY for COLLAPSE_CHECKS checks running, and to under half the
  run's own highest, the generator is collapsing onto a few pictures. A generator that was never varied
  (the first checks of a run) is not warned about: its variety did not fall. Recovering re-arms it.

The discriminator-has-won warning is the balance guard's (core/training/balance.py), not repeated here.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import events as ev

# The name under which a metric reports the samples' variety beside its score (core/metrics/kid.py does).
VARIETY_NAME = "sample variety"
STALL_CHECKS = 8
# Progress means better than the best by more than max(NOISE_FLOOR, RELATIVE_NOISE x best), in the
# score's own units (KID x 10^3): 10 is three times the 3.3 spread of equal sets at the CPU counts; a
# score of 300 spreads by about a tenth of itself between checks on the same generator.
NOISE_FLOOR = 10.0
RELATIVE_NOISE = 0.1
# Variety measured on Lite1 features against 200 of the demo shapes at 64 px: 200 other shapes 1.01; copies
# (with 4 levels of pixel noise) of 16 shapes 0.78, of 4 shapes 0.55, of 2 shapes 0.27, of 1 shape 0.02;
# pixel noise 0.02. Below 0.4 fewer than about three distinct pictures are left. Pixel noise is as low as a
# collapse, which is why an untrained generator (its first checks) is not warned about: its variety never fell.
LOW_VARIETY = 0.4
COLLAPSE_CHECKS = 2


@dataclass
class _Best:
    score: float
    step: int
    epoch: int


class QualityWatch:
    """Turns successive quality checks into health warnings; one per engine segment, fed from the measuring thread."""

    def __init__(self, score_name: str, higher_is_better: bool = False, stall_checks: int = STALL_CHECKS,
                 noise_floor: float = NOISE_FLOOR, relative_noise: float = RELATIVE_NOISE,
                 low_variety: float = LOW_VARIETY, collapse_checks: int = COLLAPSE_CHECKS):
        self.score_name = score_name
        self.higher_is_better = higher_is_better
        self.stall_checks = stall_checks
        self.noise_floor = noise_floor
        self.relative_noise = relative_noise
        self.low_variety = low_variety
        self.collapse_checks = collapse_checks
        self.best: _Best | None = None
        self.checks_since_best = 0
        self.stall_told = False
        self.highest_variety = 0.0
        self.low_variety_checks = 0
        self.collapse_told = False

    def observe(self, measured: ev.MetricMeasured) -> list[ev.Warning]:
        """The warnings this check gives rise to (usually none)."""
        warnings = []
        score = measured.values.get(self.score_name)
        if score is not None and score == score:  # a NaN score (a failed check) says nothing about progress
            warning = self._observe_score(float(score), measured)
            if warning is not None:
                warnings.append(warning)
        variety = measured.values.get(VARIETY_NAME)
        if variety is not None and variety == variety:
            warning = self._observe_variety(float(variety), measured)
            if warning is not None:
                warnings.append(warning)
        return warnings

    def _is_progress(self, score: float) -> bool:
        margin = max(self.noise_floor, self.relative_noise * abs(self.best.score))
        return score > self.best.score + margin if self.higher_is_better else score < self.best.score - margin

    def _observe_score(self, score: float, measured: ev.MetricMeasured) -> ev.Warning | None:
        if self.best is None or self._is_progress(score):
            self.best = _Best(score, measured.step, measured.epoch)
            self.checks_since_best, self.stall_told = 0, False
            return None
        self.checks_since_best += 1
        if self.checks_since_best < self.stall_checks or self.stall_told:
            return None
        self.stall_told = True
        checks = f"{self.checks_since_best} check{'' if self.checks_since_best == 1 else 's'}"
        return ev.Warning(message=(
            f"Quality has not improved for {checks}: a good time to stop. The best so far was at epoch "
            f"{self.best.epoch:,} ({self.score_name} {self.best.score:.1f}); checkpoints/best.pt keeps the "
            "best-scoring checkpoint."))

    def _observe_variety(self, variety: float, measured: ev.MetricMeasured) -> ev.Warning | None:
        self.highest_variety = max(self.highest_variety, variety)
        fallen = variety < self.low_variety and variety < 0.5 * self.highest_variety
        if not fallen:
            if variety >= self.low_variety:
                self.low_variety_checks, self.collapse_told = 0, False
            return None
        self.low_variety_checks += 1
        if self.low_variety_checks < self.collapse_checks or self.collapse_told:
            return None
        self.collapse_told = True
        return ev.Warning(message=(
            f"Samples are losing variety: at step {measured.step:,} they spread {variety:.0%} as widely as the "
            f"training pictures (at most {self.highest_variety:.0%} earlier), so the generator is making the same "
            "few pictures. Continue from checkpoints/best.pt, or try a lower learning rate or more augmentation."))
