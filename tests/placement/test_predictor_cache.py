"""The predictor reuses what it derived for a candidate list it has seen (enumerations are
shared between models); answers must equal those for the same offerings passed afresh."""
from __future__ import annotations

import numpy as np

from placement.candidates import enumerate_candidates


def test_shared_candidate_lists_predict_as_fresh_lists(catalog, learned, held_out_specs):
    from history.population import sample_specs
    from placement.learned.predictor import LearnedPredictor

    fresh = LearnedPredictor(learned.bundle)  # its table fills in another order
    checked = 0
    for spec in [*held_out_specs, *sample_specs(30, seed=4)]:
        enum = enumerate_candidates(spec, catalog)
        if not enum.candidates:
            continue
        offerings = [c.offering for c in enum.candidates]
        purchases = [c.purchase for c in enum.candidates]
        expected = fresh.predict_arrays(spec.profile, offerings[::-1], purchases[::-1])
        for _ in range(2):  # the second call is answered from the cache
            got = learned.predict_arrays(spec.profile, enum.offerings, enum.purchases)
            for a, b in zip(got, expected, strict=True):
                np.testing.assert_array_equal(a, b[::-1])
        checked += 1
    assert checked >= 20
