"""signal_loss.py and train.py --loss snr, snr+sisdr: the losses on the estimate's waveform."""
import json
import os
import subprocess

import chainer
import numpy as np
import pytest

import const
import mixing
import network
import signal_loss
import train
import util
from conftest import chirp, harmonic_stack, noise_bursts, tone
from test_mixing import LENGTH, N_SAMPLES, audio_dirs, mix_command, run_mix

TAU_DB = -const.SNR_LOSS_CAP_DB      # -40 dB


def spectra(signals):
    """``(batch, 2, 513, LENGTH)`` real and imaginary parts of util.stft."""
    specs = np.stack([util.stft(s) for s in signals])
    return np.stack((specs.real, specs.imag), axis=1).astype(np.float32)


def signals():
    return np.stack([harmonic_stack(N_SAMPLES / const.SR, f0=150)[:N_SAMPLES],
                     noise_bursts(N_SAMPLES / const.SR, seed=3)[:N_SAMPLES]])


def test_inverse_stft_in_the_graph_is_librosas_and_gives_the_signal_back():
    x = signals()
    spec = spectra(x)
    inverse = signal_loss.InverseSTFT(LENGTH)
    y = inverse(spec[:, 0], spec[:, 1]).array
    assert y.shape == (2, N_SAMPLES)
    np.testing.assert_allclose(y, x, atol=1e-5)
    complex_spec = spec[:, 0] + 1j * spec[:, 1]
    np.testing.assert_allclose(y[1], util.istft(complex_spec[1], N_SAMPLES), atol=1e-5)


def test_masked_spectrum_gives_the_dc_bin_the_lowest_bins_mask_as_separation_does():
    spec = spectra(signals())
    mask = np.full((2, 1, const.NET_BINS, LENGTH), 0.25, np.float32)
    mask[:, :, 0] = 0.5
    real, imag = signal_loss.masked_spectrum(mask, spec)
    np.testing.assert_allclose(real.array[:, :2], 0.5 * spec[:, 0, :2], rtol=1e-6)
    np.testing.assert_allclose(imag.array[:, 2:], 0.25 * spec[:, 1, 2:], rtol=1e-6)


def test_snr_loss_reads_as_minus_the_capped_snr():
    speech = signals()[:1]
    loss = lambda estimate, reference, mixture: float(   # noqa: E731
        signal_loss.snr_loss(chainer.Variable(estimate), reference, mixture).array)
    # speech alone passed untouched: the cap; passed at 0.9: 20 dB
    assert loss(speech, speech, speech) == pytest.approx(TAU_DB, abs=0.01)
    assert loss(0.9 * speech, speech, speech) == pytest.approx(-20.0, abs=0.05)
    assert loss(np.zeros_like(speech), speech, speech) == pytest.approx(0.0, abs=0.01)
    # music alone: silence is the best (the cap), passing it whole the worst
    silence = np.zeros_like(speech)
    assert loss(silence, silence, speech) == pytest.approx(0.0, abs=0.01)
    assert loss(0.1 * speech, silence, speech) == pytest.approx(-TAU_DB - 20.0 + 0.04, abs=0.05)
    # an all-silent example: finite, no log(0)
    assert np.isfinite(loss(silence, silence, silence))


def test_the_cap_sets_where_speech_alone_counts_as_clean():
    speech = signals()[:1]
    for cap in (20.0, 30.0):
        perfect = signal_loss.snr_loss(chainer.Variable(speech), speech, speech, cap_db=cap)
        assert float(perfect.array) == pytest.approx(-cap, abs=0.05)
    # 25 dB clean: done under a 20 dB cap (within 1.2 dB of it), not under 40
    estimate = chainer.Variable(speech * np.float32(1 - 10 ** (-25 / 20)))
    assert float(signal_loss.snr_loss(estimate, speech, speech, cap_db=20.0).array) == \
        pytest.approx(-18.8, abs=0.1)
    assert float(signal_loss.snr_loss(estimate, speech, speech, cap_db=40.0).array) == \
        pytest.approx(-24.9, abs=0.1)


def test_the_snr_loss_pulls_the_mask_towards_the_speech():
    # speech alone in the mixture: a half-open mask must open, an open one is best
    x = signals()
    spec = spectra(x)
    magnitude = np.hypot(spec[:, 0, 1:], spec[:, 1, 1:])[:, None]
    inverse = signal_loss.InverseSTFT(LENGTH)
    losses = {}
    for value in (0.5, 1.0):
        mask = chainer.Variable(np.full((2, 1, const.NET_BINS, LENGTH), value, np.float32))
        loss = signal_loss.snr_loss(inverse(*signal_loss.masked_spectrum(mask, spec)), x, x)
        loss.backward()
        losses[value] = float(loss.array)
        if value == 0.5:
            assert np.sum(mask.grad * magnitude) < 0.0
    assert losses[1.0] == pytest.approx(TAU_DB, abs=0.1) and losses[0.5] > -7.0


def test_train_model_minimises_the_snr_given_spectra_and_reports_the_l1_as_loss():
    unet = network.UNet()
    model = network.UNetTrainmodel(unet)
    x = signals()
    spec = spectra(x)
    mix = np.abs(spec[:, 0, 1:] + 1j * spec[:, 1, 1:])[:, None].astype(np.float32)
    reporter = chainer.Reporter()
    reporter.add_observer('main', model)
    observation = {}
    with chainer.using_config('train', False), reporter.scope(observation):
        loss = float(model(mix, mix, spec, np.stack((x, x), axis=1)).array)
        l1 = float(model(mix, mix).array)
    assert float(observation['main/snr'].array) == pytest.approx(-loss)
    assert float(observation['main/loss'].array) == pytest.approx(l1)
    assert TAU_DB < loss < 0.0 and l1 > 0.0


def test_mixing_dataset_gives_the_spectrum_and_waveforms_of_its_magnitudes():
    speech = [harmonic_stack(3.0, f0=140), chirp(1.0), tone(2.5, freq=330)]
    music = [noise_bursts(4.0, seed=1)]
    dataset = mixing.MixingDataset(speech, music, LENGTH, epoch_size=8, seed=3, spectra=True)
    plain = mixing.MixingDataset(speech, music, LENGTH, epoch_size=8, seed=3)
    for i in range(4):
        mix, target, mix_spec, waveforms = dataset.get_example(i)
        assert mix_spec.shape == (2, const.N_BINS, LENGTH)
        assert waveforms.shape == (2, N_SAMPLES) and waveforms.dtype == np.float32
        np.testing.assert_allclose(np.hypot(*mix_spec)[None, 1:], mix, rtol=1e-4, atol=1e-7)
        speech_wave, mixture_wave = waveforms
        np.testing.assert_allclose(np.abs(util.stft(speech_wave))[None, 1:], target,
                                   rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(util.stft(mixture_wave), mix_spec[0] + 1j * mix_spec[1],
                                   rtol=1e-3, atol=1e-6)
        for a, b in zip((mix, target), plain.get_example(i)):   # same examples as without
            np.testing.assert_array_equal(a, b)


def test_train_loss_snr_runs_logs_the_snr_and_trains_otherwise(tmp_path):
    logs = {}
    for loss, cap in (('l1', ()), ('snr', ('--snr-cap', '30')), ('snr+sisdr', ())):
        out = str(tmp_path / loss)
        assert run_mix(tmp_path, out, '-e', '1', '--loss', loss, *cap) == 0
        with open(os.path.join(out, 'log')) as handle:
            logs[loss] = json.load(handle)[-1]
    assert 'main/snr' in logs['snr'] and 'main/snr' not in logs['l1']
    assert np.isfinite(logs['snr']['main/snr']) and np.isfinite(logs['snr+sisdr']['main/snr'])
    # the first step's gradients differ, so the next step's L1 does too
    assert logs['snr']['main/loss'] != logs['l1']['main/loss']
    assert logs['snr+sisdr']['main/loss'] not in (logs['snr']['main/loss'],
                                                  logs['l1']['main/loss'])


def test_train_loss_snr_workers_hand_examples_over_in_shared_memory(tmp_path):
    # the spectra and waveforms make examples larger than the magnitudes
    # alone; too little shared memory makes every worker warn and pickle.
    # A process of its own: under pytest the workers' warnings are caught.
    speech, music = audio_dirs(tmp_path)
    done = subprocess.run(
        mix_command(speech, music, str(tmp_path / 'r'), '--epoch-size', '4', '--stop', '2',
                    '--loss', 'snr', '--loaders', '2'),
        cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert b'Shared memory size is too small' not in done.stderr


@pytest.mark.parametrize('cap', ['0', '200', 'nan'])
def test_train_refuses_an_snr_cap_out_of_range_in_one_line(tmp_path, capsys, cap):
    assert run_mix(tmp_path, str(tmp_path / 'r'), '--stop', '1', '--loss', 'snr',
                   '--snr-cap', cap) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and '--snr-cap' in err[0]


def test_train_refuses_an_snr_cap_without_the_snr_loss_in_one_line(tmp_path, capsys):
    # a cap the L1 loss would silently ignore: the user meant another run
    assert run_mix(tmp_path, str(tmp_path / 'r'), '--stop', '1', '--snr-cap', '30') == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and '--snr-cap' in err[0] and '--loss snr' in err[0]
    assert not os.path.exists(str(tmp_path / 'r' / 'log'))


@pytest.mark.parametrize('loss', const.WAVEFORM_LOSSES)
def test_train_loss_snr_needs_mix_in_one_line(tmp_path, capsys, loss):
    assert train.main(['-t', str(tmp_path), '-o', str(tmp_path / 'r'), '--loss', loss,
                       '--stop', '1']) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and '--loss ' + loss + ':' in err[0] and '--mix' in err[0]


def test_si_sdr_loss_scores_the_shape_at_any_level_and_stays_out_of_music_alone():
    speech = signals()[:1]
    mixture = speech + 1.8 * signals()[1:]          # about -5 dB
    si_sdr = lambda estimate, reference: signal_loss.si_sdr_losses(   # noqa: E731
        chainer.Variable(estimate.astype(np.float32)), reference, 30.0).array
    np.testing.assert_allclose(si_sdr(mixture, speech), si_sdr(0.001 * mixture, speech),
                               atol=0.01)
    assert si_sdr(0.3 * speech, speech)[0] == pytest.approx(-30.0, abs=0.01)   # the cap
    target = np.dot(mixture[0], speech[0]) / np.dot(speech[0], speech[0]) * speech[0]
    expected = 10 * np.log10(np.sum((mixture[0] - target) ** 2) / np.sum(target ** 2))
    assert si_sdr(mixture, speech)[0] == pytest.approx(expected, abs=0.01)   # below the cap
    silent = np.zeros_like(speech)
    assert si_sdr(mixture, silent)[0] == 0.0        # music alone: not defined, not counted


def test_snr_si_sdr_loss_keeps_pulling_a_quiet_estimate_towards_the_speech():
    speech = signals()[:1]
    mixture = speech + 1.8 * signals()[1:]
    both = np.concatenate((speech, np.zeros_like(speech)))      # then music alone
    mixtures = np.concatenate((mixture, mixture))

    def loss_and_pull(loss, scale):
        estimate = chainer.Variable((scale * mixtures).astype(np.float32))
        value = loss(estimate, both, mixtures, 30.0)
        value.backward()
        pull = -float(np.sum(estimate.grad[0] * speech[0]))      # towards the speech
        return float(value.array), pull

    snr_loud, _ = loss_and_pull(signal_loss.snr_loss, 1.0)
    snr_quiet, snr_pull = loss_and_pull(signal_loss.snr_loss, 0.001)
    mixed_loud, _ = loss_and_pull(signal_loss.snr_si_sdr_loss, 1.0)
    mixed_quiet, mixed_pull = loss_and_pull(signal_loss.snr_si_sdr_loss, 0.001)
    assert snr_quiet < snr_loud - 10.0              # the SNR alone: silence pays well
    assert mixed_quiet > snr_quiet + 1.0            # here it pays less
    assert mixed_pull > 100 * snr_pull > 0.0        # and the shape is still taught
    # music alone is scored by the SNR term alone: the same as --loss snr
    music_alone = lambda loss: float(loss(   # noqa: E731
        chainer.Variable(mixtures[1:].astype(np.float32)), both[1:], mixtures[1:], 30.0).array)
    assert music_alone(signal_loss.snr_si_sdr_loss) == pytest.approx(
        music_alone(signal_loss.snr_loss))


def test_the_model_with_snr_sisdr_reports_the_snr_and_minimises_the_average():
    x = signals()
    spec = spectra(x)
    mix = np.abs(spec[:, 0, 1:] + 1j * spec[:, 1, 1:])[:, None].astype(np.float32)
    waves = np.stack((x, x + 0.5 * x[::-1]), axis=1).astype(np.float32)
    unet = network.UNet()
    losses = {}
    for scale_invariant in (False, True):
        model = network.UNetTrainmodel(unet, snr_cap_db=30.0, scale_invariant=scale_invariant)
        reporter = chainer.Reporter()
        reporter.add_observer('main', model)
        observation = {}
        with chainer.using_config('train', False), reporter.scope(observation):
            losses[scale_invariant] = float(model(mix, mix, spec, waves).array)
        losses[scale_invariant, 'snr'] = float(observation['main/snr'].array)
    with chainer.using_config('train', False):
        mask = unet(mix)
    estimate = model.inverse_stft(LENGTH)(*signal_loss.masked_spectrum(mask, spec))
    expected = signal_loss.snr_si_sdr_loss(estimate, waves[:, 0], waves[:, 1], 30.0)
    assert losses[True] == pytest.approx(float(expected.array), rel=1e-5)
    assert losses[True, 'snr'] == pytest.approx(losses[False, 'snr']) == -losses[False]
    assert losses[True] != pytest.approx(losses[False])
