"""Projection: the shifts carry nothing of the shares' counting noise."""

import numpy as np

from specstate.changes._projection import Projection


def test_shifts_uncorrelated_with_shares_under_counting_noise():
    # two peaks on a flat background, SASE-like pulse energies, Poisson counts: where a
    # bump sees no peak its shift weights are the reference's noise; their correlation with
    # the shares would change with each reference, so the projection removes it
    rng = np.random.default_rng(0)
    m, k, n = 64, 12, 20_000
    j = np.arange(m)
    mean = (50.0 + 400.0 * np.exp(-0.5 * ((j - 19.3) / 2.5) ** 2)
            + 250.0 * np.exp(-0.5 * ((j - 41.7) / 3.5) ** 2))
    x = rng.poisson(mean * rng.gamma(10.0, 0.1, (n, 1))).astype(np.float32)
    z, ok = Projection(m, k, tau=108, block=27)(x)
    assert ok.all()
    z = z[1000:, : 2 * k]  # after the reference has settled
    corr = np.corrcoef(z.T)[:k, k:]
    # zero correlation: |r| within ~5 standard errors (1 / sqrt(n)); the shifts taken
    # without the decorrelation correlate with the shares up to 0.85 here
    assert np.abs(corr).max() < 5.0 / np.sqrt(z.shape[0])
    # and the shifts are standardised by their counting noise
    np.testing.assert_allclose(z[:, k:].std(axis=0), 1.0, atol=0.05)
