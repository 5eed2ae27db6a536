"""make_separate.py --report: a row per input with its status and the levels
of its speech and music estimates."""
import math
import os

import numpy as np
import pytest
import soundfile as sf

import make_separate
import separation_report
import util
from conftest import (chirp, energy, harmonic_stack, high_noise, low_band_mask, noise_bursts,
                      read_rows, tone, write)

FAST = ['--shifts', '1', '--speeds', '1']


def corpus(folder):
    """Three recordings of different lengths and a file that is not audio."""
    write(folder / 'a_voice.wav', harmonic_stack(1.5))
    write(folder / 'b_bed.wav', chirp(2.0) + noise_bursts(2.0))
    write(folder / 'c_both.wav', harmonic_stack(2.5) + 0.3 * noise_bursts(2.5))
    (folder / 'd_junk.wav').write_text('not audio')
    return str(folder)


def test_report_has_a_row_per_input_with_the_levels_of_what_was_written(tmp_path,
                                                                          model_path):
    source = corpus(tmp_path / 'mix')
    out, music, report = (str(tmp_path / 'speech'), str(tmp_path / 'music'),
                          str(tmp_path / 'report.csv'))
    assert make_separate.main(['-i', source, '-o', out, '--music-out', music, '-m', model_path,
                               '--report', report] + FAST) == 1      # d_junk.wav failed
    rows = read_rows(report)
    assert [r['input'].rsplit('/', 1)[1] for r in rows] == \
        ['a_voice.wav', 'b_bed.wav', 'c_both.wav', 'd_junk.wav']
    assert [r['status'] for r in rows] == ['separated'] * 3 + ['failed']
    assert 'd_junk.wav' in rows[3]['note'] and rows[3]['speech_db'] == ''
    for entry, seconds in zip(rows, (1.5, 2.0, 2.5)):
        speech = sf.read(entry['output'], dtype='float64')[0]
        residual = sf.read(entry['music_output'], dtype='float64')[0]
        assert float(entry['seconds']) == pytest.approx(seconds, abs=0.005)
        mixture = energy(speech + residual)
        expected = (10 * math.log10(energy(speech) / mixture),
                    10 * math.log10(energy(residual) / mixture),
                    10 * math.log10(energy(speech) / energy(residual)))
        got = tuple(float(entry[k]) for k in separation_report.LEVEL_COLUMNS)
        np.testing.assert_allclose(got, expected, atol=0.006)
        assert entry['note'] == ''


def test_all_pass_and_all_stop_masks_say_speech_alone_and_music_alone():
    for value, expected in ((1.0, (0.0, -120.0, 120.0)), (0.0, (-120.0, 0.0, -120.0))):
        separator = make_separate.Separator(lambda p, v=value: np.full_like(p, v), shifts=1,
                                            speeds=())
        mixture = harmonic_stack(2.0) + noise_bursts(2.0)
        levels = separation_report.Levels()
        scale = make_separate.normalisation(make_separate.peak_magnitude([mixture]))
        for _ in levels.counted(separator.stream([mixture], len(mixture), scale)):
            pass
        got = levels.figures()
        np.testing.assert_allclose([got[k] for k in separation_report.LEVEL_COLUMNS],
                                   expected, atol=1e-3)


def test_a_silent_input_has_no_levels(tmp_path, model_path):
    source = write(tmp_path / 'silence.wav', np.zeros(8000, np.float32))
    report = tmp_path / 'report.csv'
    assert make_separate.main(['-i', source, '-o', str(tmp_path / 'out.wav'), '-m', model_path,
                               '--report', str(report)] + FAST) == 0
    entry, = read_rows(report)
    assert entry['status'] == 'separated'
    assert [entry[k] for k in separation_report.LEVEL_COLUMNS] == ['', '', '']


def test_resumed_run_keeps_the_rows_of_the_files_it_skips(tmp_path, model_path):
    source = tmp_path / 'mix'
    write(source / 'a.wav', harmonic_stack(1.0) + noise_bursts(1.0))
    write(source / 'b.wav', chirp(1.0))
    out, report = str(tmp_path / 'out'), str(tmp_path / 'report.csv')
    run = ['-i', str(source), '-o', out, '-m', model_path, '--report', report] + FAST
    assert make_separate.main(run) == 0
    first = read_rows(report)
    write(source / 'c.wav', tone(1.0))
    assert make_separate.main(run + ['--skip-existing']) == 0
    second = read_rows(report)
    assert second[:2] == first
    assert second[2]['input'].endswith('c.wav') and second[2]['status'] == 'separated'
    # without the earlier report the skipped files are listed without figures
    fresh = str(tmp_path / 'fresh.csv')
    assert make_separate.main(run[:-2 - len(FAST)] + ['--report', fresh, '--skip-existing']
                              + FAST) == 0
    assert [r['status'] for r in read_rows(fresh)] == ['skipped'] * 3
    assert all('--skip-existing' in r['note'] for r in read_rows(fresh))


def test_an_interrupted_run_reports_the_files_it_finished(tmp_path, model_path, monkeypatch):
    source = tmp_path / 'mix'
    for name in ('a.wav', 'b.wav', 'c.wav'):
        write(source / name, harmonic_stack(0.5))
    report = tmp_path / 'report.csv'
    calls = []
    separate_file = make_separate.separate_file

    def stopped_at_the_second(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return separate_file(*args, **kwargs)

    monkeypatch.setattr(make_separate, 'separate_file', stopped_at_the_second)
    passages = tmp_path / 'passages.csv'
    assert make_separate.main(['-i', str(source), '-o', str(tmp_path / 'out'), '-m',
                               model_path, '--report', str(report), '--passage-report',
                               str(passages)] + FAST) == 130
    entry, = read_rows(report)
    assert entry['input'].endswith('a.wav') and entry['status'] == 'separated'
    passage, = read_rows(passages)      # --passage-report too
    assert passage['input'] == entry['input'] and passage['end_s'] == '0.50'


@pytest.mark.parametrize('case', ['exists', 'folder', 'stdout', 'input', 'output',
                                  'bad-old-report'])
def test_a_report_that_cannot_be_written_is_refused_before_any_work(tmp_path, model_path,
                                                                     capsys, case):
    source = write(tmp_path / 'in.wav', tone(1.0))
    before = open(source, 'rb').read()
    report = {'exists': tmp_path / 'old.csv', 'folder': tmp_path, 'stdout': '-',
              'input': source, 'output': tmp_path / 'out.wav',
              'bad-old-report': tmp_path / 'scores.csv'}[case]
    extra = {'input': ['--overwrite'], 'bad-old-report': ['--skip-existing']}.get(case, [])
    if case in ('exists', 'bad-old-report'):
        report.write_text('name,score\nx,1\n')
    out = tmp_path / 'out.wav'
    assert make_separate.main(['-i', source, '-o', str(out), '-m', model_path,
                               '--report', str(report)] + extra + FAST) == 1
    err = capsys.readouterr().err
    assert '--report' in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and open(source, 'rb').read() == before
    if case in ('exists', 'bad-old-report'):
        assert report.read_text() == 'name,score\nx,1\n'


def constant_mask(monkeypatch, value):
    """make_separate.main separates with a mask of ``value`` everywhere."""
    monkeypatch.setattr(make_separate, 'load_separator', lambda *a, **k: make_separate.Separator(
        lambda patches: np.full_like(patches, value), shifts=1, speeds=()))


@pytest.mark.parametrize('judged', [[], ['--passage', 'file'], ['--clean-passage', '1.5']])
@pytest.mark.parametrize('rate, extra', [(16000, []), (44100, ['--full-band', '--keep-channels'])])
@pytest.mark.parametrize('gating', ['--keep-clean', '--gate-music', 'both'])
def test_a_file_judged_clean_or_music_alone_is_written_whole(tmp_path, monkeypatch, capsys,
                                                             rate, extra, judged, gating):
    """A mask of 0.999 finds speech 60 dB above the music: with --keep-clean
    30 the speech output is the input (at its rate and channels with
    --full-band --keep-channels) and the music output silence. A mask of
    0.001 finds music 60 dB above the speech: with --gate-music 30 the
    speech output is silence and the music output the input. Judged per
    passage or per file alike; a mask of 0.5 (0 dB), or a mask the option
    given does not judge, separates as without the options."""
    voice = harmonic_stack(2.0, rate) + 0.1 * noise_bursts(2.0, rate)
    signal = np.stack([voice, 0.5 * voice], axis=1) if extra else voice
    source = write(tmp_path / 'talk.wav', signal, rate)
    expected = signal if extra else np.concatenate(list(util.stream_audio(source)))
    options = {'--keep-clean': ['--keep-clean', '30'], '--gate-music': ['--gate-music', '30'],
               'both': ['--keep-clean', '30', '--gate-music', '30']}[gating]
    for value in (0.999, 0.001, 0.5):
        constant_mask(monkeypatch, value)
        out, music = str(tmp_path / 'speech.wav'), str(tmp_path / 'music.wav')
        report = str(tmp_path / 'report.csv')
        assert make_separate.main(['-i', source, '-o', out, '--music-out', music,
                                   '--report', report, '--overwrite']
                                  + options + extra + judged) == 0
        speech, residual = sf.read(out, dtype='float32')[0], sf.read(music, dtype='float32')[0]
        entry, = read_rows(report)
        summary = capsys.readouterr().out
        assert sorted(os.listdir(str(tmp_path))) == ['music.wav', 'report.csv', 'speech.wav',
                                                     'talk.wav']
        if value == 0.999 and gating != '--gate-music':
            np.testing.assert_allclose(speech, expected, atol=1e-5)
            assert not np.any(residual)
            assert float(entry['speech_to_music_db']) > 30
            assert entry['note'] == make_separate.KEPT_NOTE
            assert '2.0 s of clean speech written as it came in, 1 file whole' in summary
        elif value == 0.001 and gating != '--keep-clean':
            np.testing.assert_allclose(residual, expected, atol=1e-5)
            assert not np.any(speech)
            assert float(entry['speech_to_music_db']) < -30
            assert entry['note'] == make_separate.SILENCED_NOTE
            assert '2.0 s of music alone written as silence, 1 file whole' in summary
        else:
            np.testing.assert_allclose(speech, value * expected, atol=1e-4)
            np.testing.assert_allclose(speech + residual, expected, atol=1e-5)
            assert entry['note'] == '' and ' whole' not in summary


@pytest.mark.parametrize('judged', [[], ['--passage', 'file']])
def test_gate_music_with_music_level_keeps_the_bed_turned_down(tmp_path, monkeypatch,
                                                               judged):
    """--gate-music with --music-level -20: where the file is music alone
    the speech output is the mixture 20 dB down, as the music under the
    voice would be, per passage and per file alike; --music-out gets the
    mixture whole."""
    constant_mask(monkeypatch, 0.001)
    source = write(tmp_path / 'intro.wav', noise_bursts(2.0))
    expected = sf.read(source, dtype='float32')[0]
    out, music = str(tmp_path / 'speech.wav'), str(tmp_path / 'music.wav')
    assert make_separate.main(['-i', source, '-o', out, '--music-out', music,
                               '--gate-music', '30', '--music-level', '-20'] + judged) == 0
    np.testing.assert_allclose(sf.read(out, dtype='float32')[0], 0.1 * expected, atol=1e-5)
    np.testing.assert_allclose(sf.read(music, dtype='float32')[0], expected, atol=1e-5)
    assert sorted(os.listdir(str(tmp_path))) == ['intro.wav', 'music.wav', 'speech.wav']


def test_keep_clean_keeps_the_clean_passages_after_a_music_intro(tmp_path, monkeypatch,
                                                                 capsys):
    """6 s of a voice under music (above 2 kHz, as loud), then 6 s of the
    voice over a hiss 40 dB down, judged in 2 s passages: the last three
    passages are written as they came in (after a 0.1 s fade), hiss and
    all, with no music output; the first three are separated, the music
    taken out."""
    monkeypatch.setattr(make_separate, 'load_separator', lambda *a, **k: make_separate.Separator(
        low_band_mask, shifts=1, speeds=()))
    voice = harmonic_stack(12.0)
    music = np.concatenate([high_noise(6.0), 0.01 * high_noise(6.0, seed=2)])  # then a hiss
    source = write(tmp_path / 'show.wav', voice + music)
    mixture = sf.read(source, dtype='float32')[0]
    out, residual, report = (str(tmp_path / name) for name in ('speech.wav', 'music.wav',
                                                                'report.csv'))
    assert make_separate.main(['-i', source, '-o', out, '--music-out', residual,
                               '--keep-clean', '10', '--passage', '2',
                               '--report', report]) == 0
    speech, music_out = sf.read(out, dtype='float32')[0], sf.read(residual, dtype='float32')[0]
    after = slice(round(6.1 * 16000), None)
    np.testing.assert_allclose(speech[after], mixture[after], atol=1e-5)
    assert not np.any(music_out[after])
    before = slice(0, round(5.9 * 16000))
    left = energy(speech[before] - voice[before]) / energy(music[before])
    assert 10 * math.log10(left) < -20                   # the music taken out of the intro
    entry, = read_rows(report)
    assert entry['note'].startswith('clean in 3 of 6 passages (6.0 s)')   # 5.95: a fade
    assert '6.0 s of clean speech written as it came in, 0 files whole' in \
        capsys.readouterr().out


def test_gate_music_silences_the_intro_and_keep_clean_keeps_the_talk(tmp_path, monkeypatch,
                                                                     capsys):
    """6 s of music alone (above 2 kHz), 4 s of a voice under it, then 4 s
    of the voice over a hiss 40 dB down, judged in 2 s passages with
    --gate-music 20 and --keep-clean 10: the intro's speech output is
    silence and its music output the mixture, the voice under music is
    separated, and the talk is written as it came in; fades only inside
    the gated passages."""
    monkeypatch.setattr(make_separate, 'load_separator', lambda *a, **k: make_separate.Separator(
        low_band_mask, shifts=1, speeds=()))
    voice = np.concatenate([np.zeros(6 * 16000, np.float32), harmonic_stack(8.0)])
    music = np.concatenate([high_noise(10.0), 0.01 * high_noise(4.0, seed=2)])
    source = write(tmp_path / 'show.wav', voice + music)
    mixture = sf.read(source, dtype='float32')[0]
    out, residual, report = (str(tmp_path / name) for name in ('speech.wav', 'music.wav',
                                                                'report.csv'))
    assert make_separate.main(['-i', source, '-o', out, '--music-out', residual,
                               '--gate-music', '20', '--keep-clean', '10', '--passage', '2',
                               '--report', report]) == 0
    speech, music_out = sf.read(out, dtype='float32')[0], sf.read(residual, dtype='float32')[0]
    intro = slice(0, round(5.9 * 16000))
    assert not np.any(speech[intro])
    np.testing.assert_allclose(music_out[intro], mixture[intro], atol=1e-5)
    under = slice(6 * 16000, 10 * 16000)            # separated: no fade reaches in
    left = energy(speech[under] - voice[under]) / energy(music[under])
    assert 10 * math.log10(left) < -20
    talk = slice(round(10.1 * 16000), None)
    np.testing.assert_allclose(speech[talk], mixture[talk], atol=1e-5)
    assert not np.any(music_out[talk])
    np.testing.assert_allclose(speech + music_out, mixture, atol=1e-5)
    entry, = read_rows(report)
    assert entry['note'] == ('clean in 2 of 7 passages (4.0 s): written as they came in '
                             '(--keep-clean); music alone in 3 of 7 passages (6.0 s): '
                             'written as silence (--gate-music)')
    summary = capsys.readouterr().out
    assert '4.0 s of clean speech written as it came in, 0 files whole; 6.0 s of music ' \
        'alone written as silence, 0 files whole' in summary


@pytest.mark.parametrize('passage', ['0.5', '0', '-3', 'nan', 'inf', 'whole'])
@pytest.mark.parametrize('option', ['--passage', '--clean-passage'])
def test_passage_must_be_seconds_or_file(tmp_path, model_path, capsys, passage, option):
    source = write(tmp_path / 'mix.wav', tone(1.0))
    out = tmp_path / 'out.wav'
    assert make_separate.main(['-i', source, '-o', str(out), '-m', model_path,
                               '--gate-music', '20', option, passage]) == 1
    err = capsys.readouterr().err
    assert '--passage ' + passage in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_passage_needs_keep_clean_or_gate_music(tmp_path, model_path, capsys):
    source = write(tmp_path / 'mix.wav', tone(1.0))
    out = tmp_path / 'out.wav'
    assert make_separate.main(['-i', source, '-o', str(out), '-m', model_path,
                               '--passage', '5']) == 1
    err = capsys.readouterr().err
    assert 'only applies with --keep-clean DB, --gate-music DB or --passage-report CSV' in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize('threshold', ['0', '-10', 'nan', 'inf'])
@pytest.mark.parametrize('option', ['--keep-clean', '--gate-music'])
def test_keep_clean_and_gate_music_need_a_ratio_above_0_db(tmp_path, model_path, capsys,
                                                           threshold, option):
    source = write(tmp_path / 'mix.wav', tone(1.0))
    out = tmp_path / 'out.wav'
    assert make_separate.main(['-i', source, '-o', str(out), '-m', model_path,
                               option, threshold]) == 1
    err = capsys.readouterr().err
    assert option + ' ' in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_the_model_is_never_overwritten_by_a_report_or_an_output(tmp_path, model_path, capsys):
    """--report (or --passage-report, -o, --music-out) naming the -m model,
    directly, through a symlink or a hard link, is refused even with
    --overwrite: the model was replaced by a 137-byte CSV."""
    source = write(tmp_path / 'in.wav', tone(1.0))
    model = str(tmp_path / 'm.wav')                  # a model named like audio, for -o
    with open(model_path, 'rb') as handle:
        weights = handle.read()
    with open(model, 'wb') as handle:
        handle.write(weights)
    os.symlink(model, str(tmp_path / 'link.csv'))
    os.link(model, str(tmp_path / 'hard.csv'))
    out = str(tmp_path / 'out.wav')
    for extra in (['--report', model], ['--report', str(tmp_path / 'link.csv')],
                  ['--keep-clean', '20', '--passage-report', str(tmp_path / 'hard.csv')],
                  ['--music-out', model]):
        status = make_separate.main(['-i', source, '-o', out, '-m', model, '--overwrite']
                                    + FAST + extra)
        err = capsys.readouterr().err
        assert status == 1 and ('the model' in err), (extra, err)
    assert make_separate.main(['-i', source, '-o', model, '-m', model, '--overwrite'] + FAST) == 1
    assert 'is the model' in capsys.readouterr().err
    with open(model, 'rb') as handle:
        assert handle.read() == weights
