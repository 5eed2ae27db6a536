"""evaluate.py: oracle masks, the CLI on tiny synthetic folders, its errors."""
import csv
import errno
import math
import os
import re

import numpy as np
import pytest
import soundfile as sf

import evaluate
import make_dataset
import make_separate
from conftest import chirp, harmonic_stack, noise_bursts, refusal, tone, write

SR = 16000
SNRS = (-5.2, 0.3, 4.6)          # groups -5, 0 and +5


def at_snr(speech, music, snr_db):
    gain = np.sqrt(np.mean(music ** 2) / np.mean(speech ** 2) * 10 ** (snr_db / 10))
    return (speech * gain).astype(np.float32)


def make_refs(folder, snrs=SNRS, seconds=2.0, manifest=True, music_refs=True):
    """``NAME.wav``, ``NAME.speech.wav``, ``NAME.music.wav`` and manifest.csv,
    as make_dataset.py --refs writes them; returns the names."""
    names = []
    rows = ['name,speech_file,music_file,snr_db,seconds']
    for i, snr in enumerate(snrs):
        name = 'f{}'.format(i)
        music = noise_bursts(seconds, seed=i)
        speech = at_snr(harmonic_stack(seconds, f0=120 + 40 * i), music, snr)
        write(os.path.join(folder, name + '.wav'), speech + music)
        write(os.path.join(folder, name + '.speech.wav'), speech)
        if music_refs:
            write(os.path.join(folder, name + '.music.wav'), music)
        rows.append('{},s{}.wav,m{}.wav,{},{}'.format(name, i, i, snr, seconds))
        names.append(name)
    if manifest:
        with open(os.path.join(folder, 'manifest.csv'), 'w') as handle:
            handle.write('\n'.join(rows) + '\n')
    return names


def read_csv(path):
    with open(path, newline='') as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


def snr_rows(out):
    """The mean lines of the by-SNR table in ``out`` (not the worst-file lines)."""
    lines = out.split('by input SNR')[1].splitlines()[2:]
    return [line for line in lines[:lines.index('')] if '(worst)' not in line]


def run(argv, capsys):
    status = evaluate.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


# --------------------------------------------------------------------------
# Oracle masks

def test_oracle_irm_beats_the_mixture_by_a_wide_margin():
    music = noise_bursts(2.0, seed=5)
    speech = at_snr(harmonic_stack(2.0), music, 0.0)
    mixture = speech + music
    mix_score = evaluate.si_sdr(mixture, speech)
    assert abs(mix_score) < 0.5
    for kind in evaluate.ORACLES:
        estimate = evaluate.oracle_speech(mixture, speech, music, kind)
        assert estimate.shape == mixture.shape and estimate.dtype == np.float32
        assert evaluate.si_sdr(estimate, speech) - mix_score > 6.0


@pytest.mark.parametrize('n', [SR, SR + 1, SR + 511, 777])
def test_oracle_of_pure_speech_returns_it_at_any_length(n):
    # all-speech masks are 1 everywhere: the padded STFT round trip is exact,
    # the last samples included
    speech = chirp(n / SR)[:n]
    silence = np.zeros(n, np.float32)
    for kind in evaluate.ORACLES:
        estimate = evaluate.oracle_speech(speech, speech, silence, kind)
        assert len(estimate) == n
        np.testing.assert_allclose(estimate, speech, atol=1e-5)


def test_oracle_psm_beats_the_ratio_mask_it_refines():
    # the phase-sensitive mask also corrects for the mixture's phase, so it
    # restores the speech's waveform better than the ratio mask
    music = noise_bursts(2.0, seed=5)
    speech = at_snr(harmonic_stack(2.0), music, -5.0)
    mixture = speech + music
    scores = {kind: evaluate.si_sdr(evaluate.oracle_speech(mixture, speech, music, kind), speech)
              for kind in ('irm', 'psm')}
    assert scores['psm'] > scores['irm'] + 1.0, scores


def test_oracle_rejects_an_unknown_kind():
    x = tone(0.1)
    with pytest.raises(ValueError):
        evaluate.oracle_speech(x, x, x, 'wiener')


@pytest.mark.parametrize('signal', [chirp, harmonic_stack, noise_bursts])
def test_stoi_of_a_constant_estimate_is_that_of_silence(signal):
    # a constant had scored what the leak of its offset correlated to (-0.07, 0.22...)
    speech = signal(2.0)
    assert evaluate.stoi(np.zeros_like(speech), speech) == 0.0
    for offset in (0.2, -0.01):
        assert evaluate.stoi(np.full_like(speech, offset), speech) == 0.0
    assert evaluate.stoi(speech + 0.01 * tone(2.0), speech) > 0.5      # a sound still scores
    with pytest.raises(evaluate.MetricUndefined, match='too short'):
        evaluate.stoi(np.zeros(100), speech[:100])      # still too short before silent


# --------------------------------------------------------------------------
# Short items

def test_sdr_and_si_sdr_of_an_item_shorter_than_the_minimum_are_undefined():
    # under its 512 taps the SDR filter fits anything: pure noise scored +200 dB
    n = 256
    speech = harmonic_stack(1.0)[1:n + 1]
    noise = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    values, notes = evaluate.score(noise, speech, speech + noise)
    why = 'the signal is too short (256 samples, 16.0 ms; at least 1024, 64.0 ms)'
    assert notes[:2] == ['si_sdr: ' + why, 'sdr: ' + why]
    for key in ('si_sdr', 'si_sdr_mix', 'si_sdri', 'sdr', 'passthrough'):
        assert math.isnan(values[key]), key
    with pytest.raises(evaluate.MetricUndefined, match='too short'):
        evaluate.bss_sdr(noise[:evaluate.const.SDR_FILTER_TAPS - 1],
                         speech[:evaluate.const.SDR_FILTER_TAPS - 1])
    # from the minimum on, both are scored
    n = evaluate.const.EVAL_MIN_SAMPLES
    speech = harmonic_stack(1.0)[1:n + 1]
    noise = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    values, notes = evaluate.score(noise, speech, speech + noise)
    assert values['sdr'] < 0.0 and values['si_sdr'] < 0.0
    assert not [note for note in notes if note.startswith(('si_sdr', 'sdr'))]


def test_an_item_one_sample_short_gives_its_length_in_milliseconds():
    assert evaluate.too_short(1023) == ('the signal is too short (1023 samples, 63.9 ms; '
                                        'at least 1024, 64.0 ms)')
    assert evaluate.too_short(1024) is None


def test_a_one_sample_item_has_true_notes_and_no_score():
    # it had scored -200 dB SI-SDR, "voice lost", with "the mixture is silent"
    # and an undefined SI-SDRi
    speech, music = np.array([0.3], np.float32), np.array([0.1], np.float32)
    estimate = evaluate.oracle_speech(speech + music, speech, music, 'irm')
    values, notes = evaluate.score(estimate, speech, speech + music, music)
    assert all(math.isnan(values[key]) for key in evaluate.METRICS)
    why = 'the signal is too short (1 sample, 0.1 ms; at least 1024, 64.0 ms)'
    assert notes == ['si_sdr: ' + why, 'sdr: ' + why,
                     'pesq: Buffer needs to be at least 1/4 of a second long',
                     'stoi: the signal is too short (1 sample, 0.000 s)']


def test_a_constant_mixture_is_not_called_silent():
    speech = harmonic_stack(1.0)
    mixture = np.full_like(speech, 0.1)  # music that cancels the voice: 0.1 throughout
    values, notes = evaluate.score(speech, speech, mixture, quick=True)
    assert math.isnan(values['si_sdr_mix']) and values['si_sdr'] > 100
    assert notes == ['si_sdr_mix: the mixture is a constant (DC) offset']


def test_a_10_ms_item_does_not_lift_the_mean_sdr(tmp_path, capsys):
    names = make_refs(tmp_path / 'mix', snrs=(0.0,), seconds=1.0)
    music = noise_bursts(0.01, seed=7)
    speech = at_snr(harmonic_stack(0.01), music, 0.0)
    for tag, signal in (('', speech + music), ('.speech', speech), ('.music', music)):
        write(tmp_path / 'mix' / ('short' + tag + '.wav'), signal)
    out_csv = tmp_path / 'scores.csv'
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', '--csv', out_csv],
                           capsys)
    assert status == 0, err
    rows = {r['name']: r for r in read_csv(out_csv)[1]}
    short = rows.pop('short')
    assert all(short[key] == 'nan' for key in ('si_sdr', 'si_sdri', 'sdr', 'pesq', 'stoi'))
    assert 'sdr: the signal is too short (160 samples, 10.0 ms; at least 1024' in short['notes']
    assert 'note: short [oracle-irm]: si_sdr: the signal is too short' in err
    mean = evaluate.summarise([dict({k: float(v) for k, v in r.items() if k in evaluate.METRICS},
                                    method=r['method']) for r in read_csv(out_csv)[1]],
                              ['oracle-irm'])[0][2]
    assert mean['sdr'] == pytest.approx(float(rows[names[0]]['sdr']))


# --------------------------------------------------------------------------
# The command line

def test_folder_run_writes_one_csv_row_per_file_and_method(tmp_path, capsys):
    names = make_refs(tmp_path / 'mix')
    out_csv = tmp_path / 'out' / 'scores.csv'
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', 'ibm',
                            '--csv', out_csv], capsys)
    assert status == 0, err
    assert out.startswith('# mixtures: ')
    fields, rows = read_csv(out_csv)
    assert set(evaluate.CSV_COLUMNS) <= set(fields)
    for column in ('name', 'method', 'snr_db', 'si_sdr', 'si_sdr_mix', 'si_sdri',
                   'sdr', 'pesq', 'stoi'):
        assert column in fields
    assert sorted((r['name'], r['method']) for r in rows) == sorted(
        (n, m) for n in names for m in ('oracle-irm', 'oracle-ibm'))
    for row in rows:
        assert float(row['si_sdri']) == pytest.approx(
            float(row['si_sdr']) - float(row['si_sdr_mix']), abs=2e-4)
        assert float(row['si_sdri']) > 6.0
    assert 'oracle-irm' in out and 'oracle-ibm' in out
    assert not [f for f in os.listdir(tmp_path / 'out') if f.endswith('.partial')]
    # an existing CSV is not replaced silently
    status, _, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', '--csv', out_csv], capsys)
    assert status == 1 and '--overwrite' in err
    status, _, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', '--csv', out_csv,
                          '--overwrite'], capsys)
    assert status == 0, err
    assert len(read_csv(out_csv)[1]) == len(names)


def test_quick_scores_the_same_si_sdr_without_the_slow_metrics(tmp_path, capsys):
    make_refs(tmp_path / 'mix')
    scores = {}
    for extra in ([], ['--quick']):
        out_csv = tmp_path / 'scores{}.csv'.format(len(extra))
        status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', '--csv', out_csv]
                               + extra, capsys)
        assert status == 0, err
        assert 'note:' not in err
        scores[bool(extra)] = {r['name']: r for r in read_csv(out_csv)[1]}
    assert '# metrics: SI-SDR only (--quick)' in out
    assert scores[True].keys() == scores[False].keys()
    for name, quick in scores[True].items():
        full = scores[False][name]
        assert float(quick['si_sdri']) == pytest.approx(float(full['si_sdri']), abs=1e-6)
        for metric in ('sdr', 'pesq', 'stoi'):
            assert math.isnan(float(quick[metric])) and not math.isnan(float(full[metric]))


def test_grouping_by_input_snr_from_the_manifest(tmp_path, capsys):
    make_refs(tmp_path / 'mix')
    out_csv = tmp_path / 'scores.csv'
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', '-c', out_csv], capsys)
    assert status == 0, err
    assert '# input SNR: 3 of 3 files in manifest.csv' in out
    grouped = snr_rows(out)
    assert [line.split()[0] for line in grouped] == ['-5', '0', '+5']
    assert [line.split()[2] for line in grouped] == ['1', '1', '1']      # files
    _, rows = read_csv(out_csv)
    assert sorted(float(r['snr_db']) for r in rows) == sorted(SNRS)

    records = [{'snr_db': s, 'method': 'x', **dict.fromkeys(evaluate.METRICS, v)}
               for s, v in ((-5.4, 1.0), (-4.6, 3.0), (0.2, 5.0), (None, 7.0))]
    groups = [(g, evaluate.summarise(mine, ['x'])) for g, mine in evaluate.snr_groups(records)]
    assert [(g, rows[0][1], rows[0][2]['si_sdr']) for g, rows in groups] == \
        [(-5, 2, 2.0), (0, 1, 5.0), (None, 1, 7.0)]


@pytest.mark.parametrize('snr_db, group', [(2.5, 3), (3.5, 4), (-0.5, -1), (0.5, 1),
                                           (-2.5, -3), (2.49, 2), (-0.4, 0), (0.0, 0),
                                           (0.49999999999999994, 0),
                                           (-0.49999999999999994, 0), (1e300, 1e300)])
def test_snr_groups_round_halves_away_from_zero(snr_db, group):
    # Python's round() sends halves to the even neighbour: 2.5 -> 2, 3.5 -> 4, -0.5 -> 0
    record = {'snr_db': snr_db, 'condition': ''}
    assert evaluate.group_of(record) == group and isinstance(evaluate.group_of(record), int)


def test_an_snr_half_way_is_grouped_by_the_table_as_rounded_away_from_zero(tmp_path, capsys):
    make_refs(tmp_path / 'mix', snrs=(2.5, -0.5))
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', '--quick'], capsys)
    assert status == 0, err
    assert [line.split()[0] for line in snr_rows(out)] == ['-1', '+3']


def test_by_music_source_groups_the_tracks_of_one_source(tmp_path, capsys):
    names = make_refs(tmp_path / 'mix', snrs=(-5.0, 0.0, 5.0))
    rows = ['name,speech_file,music_file,snr_db,seconds']
    for name, music, snr in zip(names, ['m000-rock__a.flac', 'm001-rock__b.flac', 'jazz.wav'],
                                (-5.0, 0.0, 5.0)):
        rows.append('{},speech/s1-reader.flac,music/{},{},2.0'.format(name, music, snr))
    (tmp_path / 'mix' / 'manifest.csv').write_text('\n'.join(rows) + '\n')
    out_csv = tmp_path / 'scores.csv'
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', '--by', 'music',
                            '-c', out_csv], capsys)
    assert status == 0, err
    table = out.split('by music source')[1].splitlines()[2:]
    means = [line.split() for line in table if line.strip() and '(worst)' not in line]
    assert [(cells[0], cells[2]) for cells in means[:2]] == [('jazz', '1'), ('rock', '2')]
    assert 'by speech source' not in out
    _, records = read_csv(out_csv)
    assert sorted(r['music_source'] for r in records) == ['jazz', 'rock', 'rock']
    assert {r['speech_source'] for r in records} == {'reader'}


def test_a_manifest_saved_with_a_byte_order_mark_still_groups(tmp_path, capsys):
    """Excel's "CSV UTF-8" starts the file with a BOM (and CRLF lines)."""
    make_refs(tmp_path / 'mix', snrs=(-5.0, 5.0))
    manifest = tmp_path / 'mix' / 'manifest.csv'
    manifest.write_bytes(b'\xef\xbb\xbf' + manifest.read_bytes().replace(b'\n', b'\r\n'))
    out_csv = tmp_path / 'scores.csv'
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', '-c', out_csv], capsys)
    assert status == 0 and 'warning' not in err, err
    assert [line.split()[0] for line in snr_rows(out)] == ['-5', '+5']
    out_csv.write_bytes(b'\xef\xbb\xbf' + out_csv.read_bytes())      # the scores, re-saved
    assert len(evaluate.read_scores(str(out_csv))) == 2


def test_a_name_listed_twice_in_the_manifest_is_warned_about(tmp_path, capsys):
    names = make_refs(tmp_path / 'mix', snrs=(-5.0, 5.0))
    manifest = tmp_path / 'mix' / 'manifest.csv'
    rows = manifest.read_text().splitlines()
    again = rows[1].replace(',-5.0,', ',10.0,').replace(',-5,', ',10,')
    assert again != rows[1]
    manifest.write_text('\n'.join(rows + [again, rows[2]]) + '\n')   # one changed, one identical
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm'], capsys)
    assert status == 0, err
    warned = [line for line in err.splitlines() if 'listed again' in line]
    assert len(warned) == 1 and str(manifest) in warned[0]
    assert warned[0].split('(')[-1].split(')')[0] == names[0]
    assert [line.split()[0] for line in snr_rows(out)] == ['+5', '+10']   # the last row wins


def test_a_mean_over_fewer_files_than_the_method_has_says_how_many(tmp_path, capsys):
    """A gate that silences two of four voices: SI-SDR and STOI count them (at
    -200 dB and 0), SDR and PESQ are undefined there, so their means are over
    the two files left, and the table says so."""
    names = make_refs(tmp_path / 'mix', snrs=(-5.0, -5.0, 5.0, 5.0), seconds=1.0)
    for i, name in enumerate(names):
        speech, _ = sf.read(str(tmp_path / 'mix' / (name + '.speech.wav')), dtype='float32')
        write(tmp_path / 'gate' / (name + '.wav'),
              np.zeros_like(speech) if i < 2 else speech + 0.05 * noise_bursts(1.0, seed=9))
    out_csv = tmp_path / 'scores.csv'
    status, out, err = run(['-i', tmp_path / 'mix', '--est', tmp_path / 'gate', '--oracle', 'irm',
                            '--csv', out_csv], capsys)
    assert status == 0, err
    table = [line for line in out.split('mean over files')[1].split('\n\n')[0].splitlines()
             if '(worst)' not in line]
    (gate,) = [line for line in table if line.startswith('gate ')]
    (oracle,) = [line for line in table if line.startswith('oracle-irm ')]
    assert len(re.findall(r' -?\d+\.\d+ \(2/4\)', gate)) == 2       # SDR and PESQ
    assert gate.split()[1] == '4' and '/' not in gate.split('(2/4)')[-1]
    assert '(' not in oracle
    assert '(k/n): that mean and worst are over k of the n files of the method' in out
    # the by-SNR rows cover their files whole, or not at all ("-")
    assert '(2/' not in out.split('by input SNR')[1].split('(k/n)')[0]
    # the CSV keeps every file's row, NaN where undefined
    rows = [r for r in read_csv(out_csv)[1] if r['method'] == 'gate']
    assert len(rows) == 4 and sorted(r['sdr'] == 'nan' for r in rows) == [False, False, True, True]


def test_a_table_of_whole_means_has_no_counts():
    records = [dict(dict.fromkeys(evaluate.METRICS, v), method='m', snr_db=None)
               for v in (1.0, 2.0)]
    text = evaluate.format_table(records, ['m'])
    assert '(k/n)' not in text and '/' not in text
    assert text.splitlines()[2].split() == ['m', '2'] + ['1.50'] * 5 + ['1.500', '1.50', '1.50']
    assert evaluate.mean_cell(1.18, 2, 4, 'sdr') == '1.18 (2/4)'
    assert evaluate.mean_cell(float('nan'), 0, 4, 'sdr') == '-'
    assert evaluate.mean_cell(0.5, 4, 4, 'stoi') == '0.500'


def test_counts_are_over_the_files_a_metric_applies_to():
    """Mixtures, speech alone and music alone, all scored: no cell is
    partial; a mixture's lost SDR marks SDR in the mean and worst rows."""
    nan = float('nan')
    mixture = dict(dict.fromkeys(evaluate.METRICS, 1.0), passthrough=nan, leak_db=nan,
                   condition='')
    speech = dict(dict.fromkeys(evaluate.METRICS, 2.0), si_sdri=nan, si_sdr_mix=nan,
                  leak_db=nan, condition='speech alone')
    music = dict(dict.fromkeys(evaluate.METRICS, nan), leak_db=-30.0, condition='music alone')
    records = [dict(r, method='m', snr_db=None) for r in (mixture, dict(mixture), speech, music)]
    text = evaluate.format_table(records, ['m'])
    assert '(k/n)' not in text and not re.search(r'\(\d+/\d+\)', text), text
    records[1]['sdr'] = nan
    mean_row, worst_row = evaluate.method_rows(records, ['m'])[0]
    assert [cell for cell in mean_row[2] + worst_row[2] if '(' in cell] == [
        '1.50 (2/3)', '1.00 (2/3)']


def test_no_manifest_means_no_grouping(tmp_path, capsys):
    make_refs(tmp_path / 'mix', snrs=(0.0, 3.0), manifest=False, music_refs=False)
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm'], capsys)
    assert status == 0, err
    assert 'by input SNR' not in out and 'unknown (no manifest.csv' in out


def test_est_of_another_length_is_named_and_fails_the_run(tmp_path, capsys):
    names = make_refs(tmp_path / 'mix')
    for i, name in enumerate(names):
        speech, _ = sf.read(str(tmp_path / 'mix' / (name + '.speech.wav')), dtype='float32')
        write(tmp_path / 'est' / (name + '.wav'), speech[:-7] if i == 1 else speech)
    out_csv = tmp_path / 'scores.csv'
    status, out, err = run(['-i', tmp_path / 'mix', '--est', tmp_path / 'est',
                            '--csv', out_csv], capsys)
    assert status == 1
    bad = str(tmp_path / 'est' / (names[1] + '.wav'))
    assert bad in err and 'length' in err and '1 failed' in err
    assert 'evaluated 2 of 3 files' in out
    _, rows = read_csv(out_csv)
    assert sorted(r['name'] for r in rows) == [names[0], names[2]]
    assert all(float(r['si_sdr']) > 100 for r in rows)        # estimates are the references


def test_two_estimates_of_one_name_are_warned_about(tmp_path, capsys):
    names = make_refs(tmp_path / 'mix', snrs=(0.0,))
    speech, _ = sf.read(str(tmp_path / 'mix' / (names[0] + '.speech.wav')), dtype='float32')
    write(tmp_path / 'est' / (names[0] + '.flac'), speech, subtype='PCM_24')
    write(tmp_path / 'est' / (names[0] + '.wav'), np.zeros_like(speech))
    status, out, err = run(['-i', tmp_path / 'mix', '--est', tmp_path / 'est', '--quick'],
                           capsys)
    assert status == 0, err
    assert 'warning: {} and {} are both named {}; using the first'.format(
        tmp_path / 'est' / (names[0] + '.flac'), tmp_path / 'est' / (names[0] + '.wav'),
        names[0]) in err


def test_references_at_another_rate_may_round_one_sample_apart(tmp_path, capsys):
    """A 44.1 kHz mixture of 132 301 samples is 48 000 at 16 kHz; its
    references, made at 16 kHz of the same 3.00002 s, hold 48 001 and 47 999:
    both scored. Two samples apart, or both at 16 kHz, is still an error."""
    rate, n = 44100, 132301
    speech16, music16 = chirp(3.0), noise_bursts(3.0)
    mixture = np.interp(np.arange(n) / rate, np.arange(48000) / 16000, speech16 + music16)
    write(tmp_path / 'mix' / 'a.wav', mixture.astype(np.float32), rate)
    write(tmp_path / 'mix' / 'a.speech.wav', np.append(speech16, 0.0).astype(np.float32))
    write(tmp_path / 'mix' / 'a.music.wav', music16[:-1])
    write(tmp_path / 'mix' / 'b.wav', (speech16 + music16)[:-1])          # 16 kHz throughout
    write(tmp_path / 'mix' / 'b.speech.wav', speech16)
    write(tmp_path / 'mix' / 'b.music.wav', music16[:-1])
    out_csv = tmp_path / 'scores.csv'
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', '--quick',
                            '--csv', out_csv], capsys)
    assert status == 1
    assert str(tmp_path / 'mix' / 'b.speech.wav') in err and "its mixture's length" in err
    assert str(tmp_path / 'mix' / 'a.') not in err
    _, rows = read_csv(out_csv)
    assert [r['name'] for r in rows] == ['a'] and float(rows[0]['si_sdri']) > 6.0


@pytest.mark.parametrize('settings', [['--shifts', '1'], ['--shifts', '2'],
                                      ['--shifts', '1', '--patch-length', '256',
                                       '--overlap', '16'], ['--shifts', '1', '--level', 'file']])
def test_model_runs_end_to_end_and_matches_make_separate(settings, tmp_path, capsys, model_path):
    names = make_refs(tmp_path / 'mix', snrs=(-5.0, 5.0))
    assert make_separate.main(['-i', str(tmp_path / 'mix'), '-o', str(tmp_path / 'sep'),
                               '-m', model_path] + settings) == 0
    capsys.readouterr()
    out_csv = tmp_path / 'scores.csv'
    status, out, err = run(['-i', tmp_path / 'mix', '-m', model_path, '--est', tmp_path / 'sep',
                            '--oracle', 'irm', '--csv', out_csv] + settings, capsys)
    assert status == 0, err
    _, rows = read_csv(out_csv)
    label = os.path.basename(model_path)
    assert sorted((r['name'], r['method']) for r in rows) == sorted(
        (n, m) for n in names for m in (label, 'sep', 'oracle-irm'))
    by_key = {(r['name'], r['method']): r for r in rows}
    for name in names:
        on_the_fly, from_files = by_key[name, label], by_key[name, 'sep']
        for metric in ('si_sdr', 'sdr', 'stoi'):
            assert float(on_the_fly[metric]) == pytest.approx(float(from_files[metric]),
                                                              abs=1e-3)
        assert float(by_key[name, 'oracle-irm']['si_sdr']) > float(on_the_fly['si_sdr'])
    table = out.split('mean over files')[1]
    assert label in table and 'oracle-irm' in table


def _references_as_estimates(mix, names, folder):
    """``folder/NAME.wav``: each mixture's speech reference, a perfect estimate."""
    for name in names:
        speech, _ = sf.read(str(mix / (name + '.speech.wav')), dtype='float32')
        write(folder / (name + '.wav'), speech)


def _table_rows(out):
    """``{label: files}`` of the mean lines of the first table in ``out``."""
    lines = out.split('mean over files')[1].split('\n\n')[0].splitlines()[2:]
    return {line.rsplit(None, len(evaluate.HEADINGS) + 1)[0]: line.split()[-9]
            for line in lines if '(worst)' not in line}


def test_a_model_and_an_estimate_folder_of_one_name_are_scored_apart(tmp_path, capsys,
                                                                       model_path):
    names = make_refs(tmp_path / 'mix', snrs=(-5.0, 5.0))
    run_dir = tmp_path / 'run'
    run_dir.mkdir()
    model = run_dir / 'model_best'
    model.write_bytes(open(model_path, 'rb').read())
    _references_as_estimates(tmp_path / 'mix', names, run_dir / 'sep' / 'model_best')
    out_csv = tmp_path / 'scores.csv'
    status, out, err = run(['-i', tmp_path / 'mix', '-m', model, '--est',
                            run_dir / 'sep' / 'model_best', '--quick', '--shifts', '1',
                            '--speeds', '1', '--csv', out_csv], capsys)
    assert status == 0, err
    labels = [str(model), str(run_dir / 'sep' / 'model_best')]
    _, rows = read_csv(out_csv)
    assert sorted((r['method'], r['name']) for r in rows) == sorted(
        (label, name) for label in labels for name in names)
    assert all(float(r['si_sdr']) > 100 for r in rows if r['method'] == labels[1])
    assert all(float(r['si_sdr']) < 100 for r in rows if r['method'] == labels[0])
    assert _table_rows(out) == {label: str(len(names)) for label in labels}


def test_an_estimate_folder_named_like_an_oracle_is_scored_apart(tmp_path, capsys,
                                                                  monkeypatch):
    names = make_refs(tmp_path / 'mix', snrs=(-5.0, 5.0))
    _references_as_estimates(tmp_path / 'mix', names, tmp_path / 'oracle-irm')
    monkeypatch.chdir(tmp_path)
    out_csv = tmp_path / 'scores.csv'
    status, out, err = run(['-i', 'mix', '--est', 'oracle-irm', '--oracle', 'irm', '--quick',
                            '--csv', out_csv], capsys)
    assert status == 0, err
    assert '# methods: ./oracle-irm (estimates in oracle-irm), oracle-irm (ideal ratio' in out
    _, rows = read_csv(out_csv)
    by_method = {}
    for row in rows:
        by_method.setdefault(row['method'], []).append(float(row['si_sdr']))
    assert sorted(by_method) == ['./oracle-irm', 'oracle-irm']
    assert len(by_method['oracle-irm']) == len(by_method['./oracle-irm']) == len(names)
    assert min(by_method['./oracle-irm']) > 100 > max(by_method['oracle-irm'])
    assert _table_rows(out) == {'./oracle-irm': '2', 'oracle-irm': '2'}


def test_an_estimate_folder_named_like_an_oracle_not_asked_for_is_labelled_apart(
        tmp_path, capsys, monkeypatch):
    """Without --oracle too: a CSV row labelled oracle-irm is always the
    ideal mask's, which paired.py and the tables leave out by that label."""
    names = make_refs(tmp_path / 'mix', snrs=(0.0,))
    _references_as_estimates(tmp_path / 'mix', names, tmp_path / 'oracle-irm')
    monkeypatch.chdir(tmp_path)
    out_csv = tmp_path / 'scores.csv'
    status, out, err = run(['-i', 'mix', '--est', 'oracle-irm', '--quick', '--csv', out_csv],
                           capsys)
    assert status == 0, err
    assert [r['method'] for r in read_csv(out_csv)[1]] == ['./oracle-irm']


def test_mix_and_ref_folders_matched_by_name(tmp_path, capsys):
    names = make_refs(tmp_path / 'data', snrs=(0.0, 2.0), music_refs=False)
    (tmp_path / 'mixes').mkdir()
    (tmp_path / 'refs').mkdir()
    for name in names:       # refs/NAME.wav is the speech of mixes/NAME.wav
        os.rename(tmp_path / 'data' / (name + '.wav'), tmp_path / 'mixes' / (name + '.wav'))
        os.rename(tmp_path / 'data' / (name + '.speech.wav'), tmp_path / 'refs' / (name + '.wav'))
    out_csv = tmp_path / 'scores.csv'
    status, out, err = run(['--mix', tmp_path / 'mixes', '--ref', tmp_path / 'refs',
                            '--oracle', 'irm', '--csv', out_csv], capsys)
    assert status == 0, err
    _, rows = read_csv(out_csv)
    assert sorted(r['name'] for r in rows) == names
    assert all(float(r['si_sdri']) > 6.0 for r in rows)   # music = mixture - speech


def test_a_missing_reference_or_bad_file_is_named_and_the_rest_scored(tmp_path, capsys):
    names = make_refs(tmp_path / 'mix')
    os.remove(tmp_path / 'mix' / (names[2] + '.speech.wav'))
    (tmp_path / 'mix' / 'broken.wav').write_bytes(b'RIFF not really a wav file')
    write(tmp_path / 'mix' / 'broken.speech.wav', tone(1.0))
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm'], capsys)
    assert status == 1
    assert str(tmp_path / 'mix' / (names[2] + '.wav')) in err and 'no speech reference' in err
    assert str(tmp_path / 'mix' / 'broken.wav') in err and '2 failed' in err
    assert 'evaluated 2 of 4 files' in out


def test_mixtures_with_no_reference_are_left_out_with_one_note(tmp_path, capsys):
    """As the sample mixtures beside make_dataset.py --refs's items in the
    default mixdown/: counted in one note, the rest scored, exit 0."""
    names = make_refs(tmp_path / 'mix', snrs=(0.0, 5.0))
    for k in (1, 2, 3):
        write(tmp_path / 'mix' / 'sample{}.wav'.format(k), tone(0.5))
    out_csv = tmp_path / 'scores.csv'
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', '--quick',
                            '--csv', out_csv], capsys)
    assert status == 0, err
    assert err.splitlines() == ['note: -i {}: left out 3 mixtures with no reference '
                                '(sample1.wav, sample2.wav, ...): no NAME.speech.* or '
                                'NAME.music.* beside them'.format(tmp_path / 'mix')]
    assert '# mixtures: {} (2 files; left out 3 mixtures with no reference)'.format(
        tmp_path / 'mix') in out
    assert 'evaluated 2 of 2 files' in out
    assert '; left out 3 mixtures with no reference; wrote ' in out
    assert sorted(r['name'] for r in read_csv(out_csv)[1]) == names

    # a music reference without its speech reference is still an error
    write(tmp_path / 'mix' / 'lonely.wav', tone(0.5))
    write(tmp_path / 'mix' / 'lonely.music.wav', tone(0.5))
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', '--quick'], capsys)
    assert status == 1
    assert 'left out 3 mixtures' in err
    assert 'error: {}: no speech reference'.format(tmp_path / 'mix' / 'lonely.wav') in err
    assert 'evaluated 2 of 3 files' in out

    # so is a single mixture given without references
    err = refusal(evaluate.main, 'evaluate.py', ['-i', str(tmp_path / 'mix' / 'sample1.wav'),
                                                 '--oracle', 'irm'], capsys)
    assert 'no speech reference for any mixture' in err


def test_nested_mixtures_left_out_are_counted_in_the_settings_and_summary(tmp_path, capsys):
    """A run that left out 4 of 5 mixtures says so where 'evaluated 1 of 1
    file' is read, not only in a note; exit 0 as one was scored."""
    make_refs(tmp_path / 'nest' / 'a', snrs=(0.0,))
    for sub in ('a', 'b', 'b/c'):
        write(tmp_path / 'nest' / sub / 'x.wav', tone(0.5))
    write(tmp_path / 'nest' / 'y.wav', tone(0.5))
    status, out, err = run(['-i', tmp_path / 'nest', '--oracle', 'irm', '--quick'], capsys)
    assert status == 0, err
    assert 'left out 4 mixtures with no reference' in err
    assert '# mixtures: {} (1 file; left out 4 mixtures with no reference)'.format(
        tmp_path / 'nest') in out
    assert re.search(r'^evaluated 1 of 1 file \(.*; left out 4 mixtures with no reference$',
                     out, re.M), out


def test_csv_over_a_mixture_left_out_is_refused(tmp_path, capsys):
    make_refs(tmp_path / 'mix', snrs=(0.0,))
    write(tmp_path / 'mix' / 'sample1.wav', tone(0.5))
    before = (tmp_path / 'mix' / 'sample1.wav').read_bytes()
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', '--quick',
                            '--overwrite', '--csv', tmp_path / 'mix' / 'sample1.wav'], capsys)
    assert status == 1
    assert err.splitlines()[-1].startswith('evaluate.py: error: --csv {}: is an input of '
                                           'this run'.format(tmp_path / 'mix' / 'sample1.wav'))
    assert (tmp_path / 'mix' / 'sample1.wav').read_bytes() == before


def test_a_mixture_missing_from_the_ref_folder_is_an_error(tmp_path, capsys):
    """--ref names where every reference is: one missing there (misnamed,
    say) is an error naming it, not left out."""
    names = make_refs(tmp_path / 'data', snrs=(0.0, 2.0), music_refs=False)
    for name in names:
        os.renames(tmp_path / 'data' / (name + '.wav'), tmp_path / 'mixes' / (name + '.wav'))
        os.renames(tmp_path / 'data' / (name + '.speech.wav'),
                   tmp_path / 'refs' / (name + '.wav'))
    write(tmp_path / 'mixes' / 'extra.wav', tone(0.5))
    status, out, err = run(['--mix', tmp_path / 'mixes', '--ref', tmp_path / 'refs',
                            '--oracle', 'irm', '--quick'], capsys)
    assert status == 1
    assert 'left out' not in err + out
    assert 'error: {}: no speech reference'.format(tmp_path / 'mixes' / 'extra.wav') in err
    assert '1 failed' in err
    assert 'evaluated 2 of 3 files' in out


def test_silent_speech_reference_is_scored_as_music_alone(tmp_path, capsys):
    names = make_refs(tmp_path / 'mix', snrs=(0.0, 0.0))
    music, _ = sf.read(str(tmp_path / 'mix' / (names[0] + '.music.wav')), dtype='float32')
    write(tmp_path / 'mix' / (names[0] + '.wav'), music)
    write(tmp_path / 'mix' / (names[0] + '.speech.wav'), np.zeros_like(music))
    out_csv = tmp_path / 'scores.csv'
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', '-c', out_csv], capsys)
    assert status == 0, err
    _, rows = read_csv(out_csv)
    silent = [r for r in rows if r['name'] == names[0]][0]
    assert silent['si_sdr'] == 'nan' and silent['pesq'] == 'nan'
    assert silent['condition'] == 'music alone' and float(silent['leak_db']) < -60.0


def test_make_dataset_refs_output_is_evaluated_directly(tmp_path, capsys, speech_music_dirs):
    music, speech = speech_music_dirs
    mixdown = tmp_path / 'eval'
    assert make_dataset.main(['-m', music, '-s', speech, '-t', str(tmp_path / 'stft'),
                              '-o', str(mixdown), '-b', '1', '--snr', '0', '--refs']) == 0
    capsys.readouterr()
    status, out, err = run(['-i', mixdown, '--oracle', 'irm', '-c', tmp_path / 's.csv'], capsys)
    assert status == 0, err
    assert '# mixtures: {} (2 files)'.format(mixdown) in out
    grouped = snr_rows(out)
    assert [line.split()[:3] for line in grouped] == [['0', 'oracle-irm', '2']]


@pytest.mark.parametrize('case', ['no-folder', 'empty', 'no-refs', 'est-empty', 'est-unmatched',
                                  'est-missing', 'bad-model', 'est-twice', 'model-twice'])
def test_user_errors_are_one_line(tmp_path, capsys, case, model_path):
    make_refs(tmp_path / 'mix', snrs=(0.0,))
    (tmp_path / 'empty').mkdir()
    argv = {
        'no-folder': ['-i', tmp_path / 'nope', '--oracle', 'irm'],
        'empty': ['-i', tmp_path / 'empty', '--oracle', 'irm'],
        'no-refs': ['-i', _only_mixture(tmp_path), '--oracle', 'irm'],
        'est-empty': ['-i', tmp_path / 'mix', '--est', tmp_path / 'empty'],
        'est-unmatched': ['-i', tmp_path / 'mix', '--est', _other_names(tmp_path)],
        'est-missing': ['-i', tmp_path / 'mix', '--est', tmp_path / 'nope'],
        'bad-model': ['-i', tmp_path / 'mix', '-m', tmp_path / 'mix' / 'manifest.csv'],
        'est-twice': ['-i', tmp_path / 'mix', '--est', tmp_path / 'mix',
                      '--est', str(tmp_path / 'mix') + '/'],
        'model-twice': ['-i', tmp_path / 'mix', '-m', model_path, '-m', model_path],
    }[case]
    status, out, err = run(argv, capsys)
    assert status == 1
    assert err.count('\n') == 1 and err.startswith('evaluate.py: error: ')


def test_a_csv_folder_that_refuses_files_is_named_before_scoring(tmp_path, capsys, monkeypatch):
    """``os.access`` says yes (as it does to root, even in /proc) but a file
    cannot be made there: the folder is named before any file is scored,
    not after the whole evaluation."""
    make_refs(tmp_path / 'mix', snrs=(0.0,))
    locked = tmp_path / 'locked'
    locked.mkdir()
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if os.path.dirname(os.path.realpath(path)) == str(locked):
            raise OSError(errno.EROFS, 'Read-only file system', path)
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(os, 'open', refuse)
    scored = []
    monkeypatch.setattr(evaluate, 'score', lambda *a, **k: scored.append(a))
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm',
                            '--csv', locked / 'scores.csv'], capsys)
    assert status == 1
    assert err.count('\n') == 1 and ('locked: cannot create a file in the output folder '
                                     '(Read-only file system)') in err
    assert not scored and os.listdir(locked) == []


def test_names_that_are_not_utf8_are_scored(tmp_path, capsys):
    """A mixture and its references named in Latin-1 bytes are read (soundfile
    refused their str names) and the CSV keeps the bytes."""
    folder = os.fsencode(str(tmp_path / 'mix'))
    os.makedirs(folder)
    speech, music = harmonic_stack(1.0), noise_bursts(1.0, seed=2)
    for tag, audio in ((b'', speech + music), (b'.speech', speech), (b'.music', music)):
        sf.write(os.path.join(folder, b'caf\xe9' + tag + b'.wav'), audio, 16000, subtype='FLOAT')
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', '--quick',
                            '--csv', tmp_path / 's.csv'], capsys)
    assert status == 0, err
    with open(str(tmp_path / 's.csv'), 'rb') as handle:
        assert handle.read().splitlines()[1].startswith(b'caf\xe9,')


def _only_mixture(tmp_path):
    write(tmp_path / 'plain' / 'a.wav', tone(0.5))
    return tmp_path / 'plain'


def _other_names(tmp_path):
    write(tmp_path / 'other' / 'zzz.wav', tone(0.5))
    return tmp_path / 'other'


# --------------------------------------------------------------------------
# Harm: speech alone and music alone

def test_references_in_upper_case_are_found_beside_their_mixture(tmp_path, capsys):
    music, speech = noise_bursts(1.0), harmonic_stack(1.0)
    for tag, signal in (('', speech + music), ('.speech', speech), ('.music', music)):
        write(tmp_path / 'mix' / ('UP' + tag + '.WAV'), signal)
    status, out, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', '--quick'], capsys)
    assert status == 0 and 'evaluated 1 of 1 file' in out, err


def test_a_reference_rounded_to_another_bit_depth_is_still_speech_alone(tmp_path, capsys):
    """A 16-bit mixture of speech alone beside a float reference, no music
    file: what the subtraction leaves is rounding, not music."""
    speech = harmonic_stack(1.0)
    write(tmp_path / 'mix' / 'a.wav', speech, subtype='PCM_16')
    write(tmp_path / 'mix' / 'a.speech.wav', speech)
    rounded = sf.read(str(tmp_path / 'mix' / 'a.wav'), dtype='float32')[0]
    assert 0 < np.abs(rounded - speech).max() < 1e-4
    assert evaluate.condition_of(speech, rounded - speech) == 'speech alone'
    assert evaluate.condition_of(speech, 0.1 * noise_bursts(1.0)) is None        # -20 dB: music
    assert evaluate.condition_of(np.zeros(8), np.zeros(8)) is None
    out_csv = tmp_path / 'scores.csv'
    status, _, err = run(['-i', tmp_path / 'mix', '--oracle', 'irm', '--quick', '-c', out_csv],
                         capsys)
    assert status == 0, err
    (row,) = read_csv(out_csv)[1]
    assert row['condition'] == 'speech alone' and row['si_sdri'] in ('', 'nan')


def test_score_of_speech_alone_is_the_output_against_the_clean_input():
    speech = harmonic_stack(1.0)
    silence = np.zeros_like(speech)
    halved = 0.5 * speech + 0.01 * noise_bursts(1.0, seed=2)
    values, _ = evaluate.score(halved, speech, speech, silence)
    assert values['passthrough'] == pytest.approx(evaluate.si_sdr(halved, speech))
    assert 10.0 < values['passthrough'] < 60.0      # scale-invariant: the halving is free
    assert np.isnan(values['si_sdri']) and np.isnan(values['leak_db'])


def test_score_of_music_alone_is_the_level_left_in_dB():
    music = noise_bursts(1.0, seed=3)
    silence = np.zeros_like(music)
    values, _ = evaluate.score(0.1 * music, silence, music, music)
    assert values['leak_db'] == pytest.approx(-20.0, abs=1e-4)
    values, _ = evaluate.score(silence, silence, music, music)
    assert values['leak_db'] == -evaluate.LIMIT_DB       # silenced entirely
    assert all(np.isnan(values[k]) for k in ('si_sdr', 'si_sdri', 'passthrough'))


def test_alone_items_from_make_dataset_are_grouped_and_scored(tmp_path, capsys):
    # make_dataset.py --alone writes the conditions; evaluate.py groups them
    # after the SNRs and reports the mean and the worst file of each
    for kind in ('speech', 'music'):
        write(tmp_path / 'music' / 'm{}.wav'.format(kind), noise_bursts(1.5, seed=4))
        write(tmp_path / 'speech' / 's{}.wav'.format(kind), harmonic_stack(1.5, f0=150))
    for alone in ('speech', 'music'):
        assert make_dataset.main([str(a) for a in ['-m', tmp_path / 'music', '-s', tmp_path / 'speech',
                                  '-t', tmp_path / 'stft' / alone, '-o', tmp_path / 'eval' / alone,
                                  '-b', '1', '--refs', '--alone', alone]]) == 0
        speech, _ = sf.read(next((tmp_path / 'eval' / alone).glob('*.speech.wav')))
        music, _ = sf.read(next((tmp_path / 'eval' / alone).glob('*.music.wav')))
        assert np.any(speech) == (alone == 'speech') and np.any(music) == (alone == 'music')
    capsys.readouterr()
    status, out, err = run(['-i', tmp_path / 'eval', '--oracle', 'irm', '-c',
                            tmp_path / 'scores.csv'], capsys)
    assert status == 0, err
    groups = [line.split('oracle-irm')[0].strip() for line in snr_rows(out)]
    assert groups == ['speech alone', 'music alone']
    _, rows = read_csv(tmp_path / 'scores.csv')
    by_condition = {r['condition']: r for r in rows}
    # the ideal mask passes speech alone untouched and removes music alone
    assert float(by_condition['speech alone']['passthrough']) > 60.0
    assert float(by_condition['music alone']['leak_db']) < -60.0
    assert '(worst)' in out


def test_an_estimate_named_with_its_mixtures_extension_is_found(tmp_path, capsys):
    """make_separate.py keeps an input's extension in its output's name where
    stems clash (a.wav and A.flac: a.wav.wav and A.flac.wav); --est looked
    for the stem alone and called such an estimate missing."""
    names = make_refs(tmp_path / 'mix', snrs=(0.0,))
    speech, _ = sf.read(str(tmp_path / 'mix' / (names[0] + '.speech.wav')), dtype='float32')
    write(tmp_path / 'est' / (names[0] + '.wav.wav'), speech)
    status, out, err = run(['-i', tmp_path / 'mix', '--est', tmp_path / 'est', '--quick'],
                           capsys)
    assert status == 0, err
    assert 'evaluated 1 of 1 file' in out
