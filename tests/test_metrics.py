"""The metrics of evaluate.py: hand-written SI-SDR and the library guards."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import evaluate
from conftest import harmonic_stack, noise_bursts


def zero_mean_noise(n, seed=0):
    x = np.random.default_rng(seed).standard_normal(n)
    return x - x.mean()


def orthogonal_noise(reference, power_ratio_db, seed=1):
    """Zero-mean noise exactly orthogonal to ``reference`` (zero-mean) with
    ``|reference|^2 / |noise|^2`` equal to ``power_ratio_db``."""
    noise = zero_mean_noise(len(reference), seed)
    noise -= np.dot(noise, reference) / np.dot(reference, reference) * reference
    noise -= noise.mean()
    noise *= math.sqrt(np.dot(reference, reference) / np.dot(noise, noise)
                       / 10 ** (power_ratio_db / 10))
    return noise


def test_identical_signal_is_very_high():
    ref = harmonic_stack(1.0)
    assert evaluate.si_sdr(ref, ref) > 100
    assert evaluate.si_sdr(ref.copy(), ref) <= evaluate.LIMIT_DB


@given(scale=st.floats(min_value=1e-3, max_value=1e3) | st.floats(min_value=-1e3,
                                                                    max_value=-1e-3))
@settings(max_examples=25, deadline=None)
def test_scaled_copy_gives_the_unscaled_value(scale):
    ref = zero_mean_noise(4000, seed=2)
    est = ref + 0.3 * zero_mean_noise(4000, seed=3)
    assert evaluate.si_sdr(scale * est, ref) == pytest.approx(
        evaluate.si_sdr(est, ref), abs=1e-9)
    assert evaluate.si_sdr(est, scale * ref) == pytest.approx(
        evaluate.si_sdr(est, ref), abs=1e-9)


@pytest.mark.parametrize('ratio_db', [-10.0, 0.0, 7.5, 30.0])
def test_orthogonal_noise_gives_its_power_ratio(ratio_db):
    ref = zero_mean_noise(8000, seed=4)
    noise = orthogonal_noise(ref, ratio_db)
    assert abs(np.dot(noise, ref)) < 1e-8 and abs(noise.mean()) < 1e-12
    assert evaluate.si_sdr(ref + noise, ref) == pytest.approx(ratio_db, abs=0.01)


def test_hand_computed_case():
    # alpha = <e, r> / <r, r> = 6 / 4 = 1.5; target = 1.5 r, |target|^2 = 9;
    # error = target - e = [-0.5, -0.5, 0.5, 0.5], |error|^2 = 1  ->  10 log10(9)
    ref = np.array([1.0, -1.0, 1.0, -1.0])
    est = np.array([2.0, -1.0, 1.0, -2.0])
    assert evaluate.si_sdr(est, ref) == pytest.approx(10 * math.log10(9), abs=1e-12)
    # a DC offset on either signal is removed first
    assert evaluate.si_sdr(est + 3.0, ref - 0.25) == pytest.approx(10 * math.log10(9), abs=1e-12)


def test_orthogonal_and_silent_estimates():
    ref = np.array([1.0, -1.0, 1.0, -1.0])
    assert evaluate.si_sdr(np.array([1.0, 1.0, -1.0, -1.0]), ref) == -evaluate.LIMIT_DB
    assert math.isnan(evaluate.si_sdr(np.zeros(4), ref))
    assert math.isnan(evaluate.si_sdr(ref, np.full(4, 0.5)))
    with pytest.raises(ValueError):
        evaluate.si_sdr(ref[:3], ref)


def test_bss_sdr_of_a_copy_and_of_silence():
    ref = harmonic_stack(1.0).astype(np.float64)
    assert 100 < evaluate.bss_sdr(ref, ref) <= evaluate.LIMIT_DB
    noisy = ref + orthogonal_noise(ref - ref.mean(), 10.0)
    assert 5.0 < evaluate.bss_sdr(noisy, ref) < 20.0
    with pytest.raises(evaluate.MetricUndefined, match='silent'):
        evaluate.bss_sdr(np.zeros_like(ref), ref)


def test_score_of_a_good_estimate():
    speech = harmonic_stack(2.0)
    music = noise_bursts(2.0)
    values, notes = evaluate.score(speech + 0.01 * music, speech, speech + music)
    assert notes == []
    assert set(values) == set(evaluate.METRICS)
    assert values['si_sdri'] == pytest.approx(values['si_sdr'] - values['si_sdr_mix'])
    assert values['si_sdr'] > 30 and values['sdr'] > 30
    assert 1.0 <= values['pesq'] <= 4.65 and 0.0 <= values['stoi'] <= 1.0


def test_a_silenced_voice_is_scored_as_lost_and_counts_in_mean_and_worst():
    # a gate or a mask that silences a whole voice must not drop out of the
    # harm figures as undefined: it is their worst file
    speech = harmonic_stack(1.0)
    music = np.random.default_rng(3).normal(0.0, 0.05, len(speech)).astype(np.float32)
    values, notes = evaluate.score(np.zeros_like(speech), speech, speech, quick=True)
    assert values['si_sdr'] == values['passthrough'] == -evaluate.LIMIT_DB
    assert any('the voice is lost' in n for n in notes)
    # so does a constant (DC only) estimate, which carries no voice either
    values, notes = evaluate.score(np.full_like(speech, 0.2), speech, speech + music, music,
                                   quick=True)
    assert values['si_sdr'] == -evaluate.LIMIT_DB
    assert notes == ['si_sdr: the estimate is a constant (DC) offset (the voice is lost: '
                     '-200 dB)']
    assert values['si_sdri'] == pytest.approx(-evaluate.LIMIT_DB - values['si_sdr_mix'])

    kept, _ = evaluate.score(speech, speech, speech, quick=True)
    lost, _ = evaluate.score(np.zeros_like(speech), speech, speech, quick=True)
    records = [dict(kept, method='m'), dict(lost, method='m')]
    [(label, files, means, worsts)] = evaluate.summarise(records, ['m'])
    assert files == 2 and worsts['passthrough'] == -evaluate.LIMIT_DB
    assert means['passthrough'] == pytest.approx((kept['passthrough'] - evaluate.LIMIT_DB) / 2)


def test_short_or_silent_signals_give_nan_with_a_note():
    short = harmonic_stack(0.1)          # under PESQ's 1/4 s and STOI's 30 frames
    values, notes = evaluate.score(short, short, short)
    assert math.isnan(values['pesq']) and math.isnan(values['stoi'])
    assert values['si_sdr'] > 100
    assert any(n.startswith('pesq:') for n in notes)
    assert any(n.startswith('stoi:') for n in notes)
    tiny = harmonic_stack(100 / 16000)   # under one of STOI's frames
    values, notes = evaluate.score(tiny, tiny, tiny)
    assert 'stoi: the signal is too short (100 samples, 0.006 s)' in notes

    speech = harmonic_stack(1.0)
    values, notes = evaluate.score(np.zeros_like(speech), speech, speech, quick=True)
    assert math.isnan(values['sdr'])
    assert any('silent' in n for n in notes)
    # every metric a silent or constant estimate leaves undefined says why, in words
    for estimate, why in ((np.zeros_like(speech), 'the estimate is silent'),
                          (np.full_like(speech, 0.2), 'the estimate is a constant (DC) offset')):
        values, notes = evaluate.score(estimate, speech, speech + 0.1 * harmonic_stack(1.0, f0=330.0))
        assert math.isnan(values['sdr']) and math.isnan(values['pesq'])
        assert ['sdr: ' + why, 'pesq: ' + why] == [n for n in notes if n[:4] in ('sdr:', 'pesq')]

    # silent speech in a sounding mixture is music alone: only the level left
    values, notes = evaluate.score(speech, np.zeros_like(speech), speech)
    assert values.pop('leak_db') == pytest.approx(0.0)
    assert all(math.isnan(v) for v in values.values()) and notes == []

    silence = np.zeros_like(speech)
    values, notes = evaluate.score(silence, silence, silence)
    assert all(math.isnan(v) for v in values.values())
    assert notes == ['speech reference is silent: no metric is defined']
