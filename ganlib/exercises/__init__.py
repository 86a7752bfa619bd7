"""Self-checks for the notebooks' exercises.

Each ``check_*`` function calls the learner's function on small cases, compares the result
with ganlib's reference (or a hand-derived value) and prints one of three answers:

* correct;
* not yet, with what was expected and what came back on a small case, and a hint;
* the learner's function raised an error: its type and message in one or two lines.

A check never raises, never changes the learner's objects (it passes copies) and returns a
``CheckResult`` whose ``passed`` attribute instructors' hidden tests can assert on.

The checks live in one module per part of the course: ``basics`` (notebooks 00-03 and their appendix, 12),
``applications`` (04-07) and ``hard_questions`` (08-11); ``_checking`` holds what they share
(calling the learner's function safely, comparing, reporting). Import them from here.
"""

TIME_LIMIT = 10.0  # seconds a learner's function may run before a check stops it (set it here)

from ._checking import CheckResult  # noqa: E402  (after TIME_LIMIT, which _checking reads from here)
from .applications import (  # noqa: E402
    check_copying_statistic,
    check_downsample,
    check_matching_aware_discriminator_loss,
    check_nearest_neighbour_distances,
    check_paired_gain,
    check_projection_logit,
    check_psnr,
    check_shift_image,
    check_slant,
    check_slerp,
    check_sr_generator_loss,
)
from .basics import (  # noqa: E402
    check_discriminator_step,
    check_extragradient_step,
    check_generator_step,
    check_high_quality_fraction,
    check_hinge_discriminator_loss,
    check_kl_divergence,
    check_maximum_likelihood_cost,
    check_non_saturating_loss,
    check_optimal_discriminator,
    check_ring_means,
    check_train_step,
    check_value_function,
)
from .hard_questions import (  # noqa: E402
    check_expected_noise_floor,
    check_frechet_distance_1d,
    check_gradient_penalty,
    check_inception_score,
    check_largest_singular_value,
    check_mean_term_bias,
    check_minimax_slope,
    check_pairing_losses,
    check_r1_penalty,
    check_relativistic_discriminator_loss,
    check_relativistic_generator_loss,
    check_reverse_kl,
    check_slope_ratio,
    check_truncated_noise,
    check_wasserstein_1d,
)

__all__ = [
    "TIME_LIMIT",
    "CheckResult",
    "check_high_quality_fraction",
    "check_ring_means",
    "check_discriminator_step",
    "check_generator_step",
    "check_hinge_discriminator_loss",
    "check_non_saturating_loss",
    "check_optimal_discriminator",
    "check_value_function",
    "check_extragradient_step",
    "check_train_step",
    "check_maximum_likelihood_cost",
    "check_kl_divergence",
    "check_reverse_kl",
    "check_minimax_slope",
    "check_frechet_distance_1d",
    "check_inception_score",
    "check_gradient_penalty",
    "check_r1_penalty",
    "check_relativistic_discriminator_loss",
    "check_relativistic_generator_loss",
    "check_expected_noise_floor",
    "check_slope_ratio",
    "check_mean_term_bias",
    "check_truncated_noise",
    "check_largest_singular_value",
    "check_wasserstein_1d",
    "check_pairing_losses",
    "check_slerp",
    "check_nearest_neighbour_distances",
    "check_copying_statistic",
    "check_shift_image",
    "check_paired_gain",
    "check_projection_logit",
    "check_psnr",
    "check_downsample",
    "check_sr_generator_loss",
    "check_slant",
    "check_matching_aware_discriminator_loss",
]
