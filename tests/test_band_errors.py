"""scripts/band_errors.py: where in frequency an estimate errs."""
import os
import sys

import numpy as np

from conftest import ROOT, chirp, harmonic_stack, tone, write

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import band_errors  # noqa: E402


def test_an_error_in_one_band_is_found_there():
    speech = chirp(2.0, f0=200.0, f1=1500.0)
    estimate = speech + 0.1 * tone(2.0, freq=3000.0)        # error between 2 and 4 kHz
    bands = band_errors.band_of_bins()
    speech_energy, error = band_errors.band_energies(estimate, speech, bands, 6)
    assert error[4] / error.sum() > 0.95
    assert speech_energy[4] / speech_energy.sum() < 0.01
    # the SI-SDR's scaling: a louder copy of the speech is no error at all
    _, scaled = band_errors.band_energies(2.0 * speech, speech, bands, 6)
    assert scaled.sum() < 1e-6 * speech_energy.sum()


def test_the_script_tables_model_and_mask_per_band(tmp_path, model_path, capsys):
    speech, music = chirp(3.0), harmonic_stack(3.0, f0=110.0)
    for name, signal in (('a', speech + music), ('a.speech', speech), ('a.music', music)):
        write(tmp_path / '{}.wav'.format(name), signal)
    assert band_errors.main(['-i', str(tmp_path), '-m', model_path]) == 0
    out = capsys.readouterr().out
    assert out.startswith('1 item in')
    rows = [line for line in out.splitlines() if line.startswith('| ')]
    assert rows[0].count('Hz') == 6
    assert any(row.startswith('| model SDR') for row in rows)
    mask = [row for row in rows if row.startswith('| ideal ratio mask SDR')][0]
    assert all(np.isfinite(float(v)) for v in mask.strip('| ').split(' | ')[1:])


def test_a_folder_without_mixtures_is_one_line_and_a_failure(tmp_path, model_path, capsys):
    assert band_errors.main(['-i', str(tmp_path), '-m', model_path]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith('band_errors.py: error: -i {}: no mixtures'.format(tmp_path))
    assert '\n' not in err
