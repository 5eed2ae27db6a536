"""make_dataset.py: pairing, names, npz format and normalisation."""
import csv
import os
import signal

import numpy as np
import pytest
import soundfile as sf

import make_dataset
import util
from conftest import chirp, noise_bursts, refusal, tone, write
from test_faults import _dead_pid, _plant


def run(music, speech, tmp_path, *extra):
    stft, mix = str(tmp_path / 'stft'), str(tmp_path / 'mixdown')
    status = make_dataset.main(['-m', music, '-s', speech, '-t', stft, '-o', mix] + list(extra))
    return status, stft, mix


def test_pairs_rotate_speech_and_write_npz_and_wav(speech_music_dirs, tmp_path):
    music, speech = speech_music_dirs
    status, stft, mix = run(music, speech, tmp_path, '-b', '2')
    assert status == 0
    names = sorted(os.listdir(stft))
    # loop 1 pairs m1-s1, m2-s2; loop 2 rotates the speech list by one
    assert names == sorted(['s1_m1.npz', 's2_m2.npz', 's2_m1.npz', 's1_m2.npz'])
    assert sorted(os.listdir(mix)) == [n.replace('.npz', '.wav') for n in names]
    with np.load(os.path.join(stft, 's2_m1.npz')) as data:
        assert set(data.files) == {'mix', 'vocal', 'inst'}
        shapes = {data[k].shape for k in data.files}
        # mixed over the shorter of 3.0 s (music) and 3.5 s (speech), at 16 kHz
        assert shapes == {(513, 1 + 48000 // 512)}
        assert all(data[k].dtype == np.float32 for k in data.files)
        assert data['mix'].max() == 1.0          # divided by the mixture's maximum
    info = sf.info(os.path.join(mix, 's2_m1.wav'))
    assert (info.samplerate, info.channels, info.frames) == (16000, 1, 48000)


def test_loop_count_is_capped_by_speech_files(speech_music_dirs, tmp_path):
    music, speech = speech_music_dirs
    status, stft, _ = run(music, speech, tmp_path, '-b', '5')
    assert status == 0 and len(os.listdir(stft)) == 4


def test_ratio_scales_speech_in_the_npz(speech_music_dirs, tmp_path):
    music, speech = speech_music_dirs
    _, stft_a, _ = run(music, speech, tmp_path / 'a', '-b', '1', '-r', '1.0')
    _, stft_b, _ = run(music, speech, tmp_path / 'b', '-b', '1', '-r', '0.5')
    with np.load(os.path.join(stft_a, 's1_m1.npz')) as a, \
            np.load(os.path.join(stft_b, 's1_m1.npz')) as b:
        ratio_a = a['vocal'].sum() / a['inst'].sum()
        ratio_b = b['vocal'].sum() / b['inst'].sum()
    assert np.isclose(ratio_b / ratio_a, 0.5, rtol=1e-3)


def test_snr_and_refs_write_references_that_sum_to_the_mixture(speech_music_dirs, tmp_path):
    music, speech = speech_music_dirs
    status, _, mix = run(music, speech, tmp_path, '-b', '1', '--snr', '-5', '--refs')
    assert status == 0
    with open(os.path.join(mix, 'manifest.csv')) as handle:
        rows = list(csv.DictReader(handle))
    assert [r['name'] for r in rows] == ['s1_m1', 's2_m2']
    for row in rows:
        assert abs(float(row['snr_db']) + 5.0) < 0.01
        base = os.path.join(mix, row['name'])
        mixture, speech_ref, music_ref = (util.load_audio(base + ext) for ext in
                                          ('.wav', '.speech.wav', '.music.wav'))
        np.testing.assert_allclose(speech_ref + music_ref, mixture, atol=1e-5)
        measured = 10 * np.log10(np.mean(speech_ref ** 2) / np.mean(music_ref ** 2))
        assert abs(measured + 5.0) < 0.01


def manifest_snrs(mix):
    with open(os.path.join(mix, 'manifest.csv')) as handle:
        return {row['name']: float(row['snr_db']) for row in csv.DictReader(handle)}


def test_rerun_leaves_no_reference_or_manifest_row_that_no_longer_matches(
        speech_music_dirs, tmp_path):
    """--refs at -5 dB for four pairs, then two of them mixed again at +15 dB
    without --refs: their references and manifest rows go (they described
    the old mixtures), the other two keep theirs; then --refs at +15 dB
    for those two gives them rows again, beside the two kept."""
    music, speech = speech_music_dirs
    status, _, mix = run(music, speech, tmp_path, '-b', '2', '--snr', '-5', '--refs')
    assert status == 0 and set(manifest_snrs(mix)) == {'s1_m1', 's2_m2', 's2_m1', 's1_m2'}
    status, _, _ = run(music, speech, tmp_path, '-b', '1', '--snr', '15')
    assert status == 0
    assert sorted(os.listdir(mix)) == sorted(
        ['manifest.csv', 's1_m1.wav', 's2_m2.wav'] +
        ['{}{}.wav'.format(name, tag) for name in ('s2_m1', 's1_m2')
         for tag in ('', '.speech', '.music')])
    assert set(manifest_snrs(mix)) == {'s2_m1', 's1_m2'}
    status, _, _ = run(music, speech, tmp_path, '-b', '1', '--snr', '15', '--refs')
    assert status == 0
    snrs = manifest_snrs(mix)
    assert set(snrs) == {'s1_m1', 's2_m2', 's2_m1', 's1_m2'}
    for name, snr in snrs.items():
        assert abs(snr - (15 if name in ('s1_m1', 's2_m2') else -5)) < 0.01
        base = os.path.join(mix, name)
        np.testing.assert_allclose(util.load_audio(base + '.speech.wav')
                                   + util.load_audio(base + '.music.wav'),
                                   util.load_audio(base + '.wav'), atol=1e-5)


def test_snr_range_is_drawn_per_pair_and_repeatable(speech_music_dirs, tmp_path):
    music, speech = speech_music_dirs
    snrs = []
    for k in range(2):
        _, _, mix = run(music, speech, tmp_path / str(k), '-b', '2', '--snr', '-5', '10',
                        '--refs', '--seed', '3')
        with open(os.path.join(mix, 'manifest.csv')) as handle:
            snrs.append([float(r['snr_db']) for r in csv.DictReader(handle)])
    assert snrs[0] == snrs[1]
    assert all(-5.01 <= s <= 10.01 for s in snrs[0]) and len(set(snrs[0])) == 4


def test_speed_perturbation_shortens_speech_and_raises_its_pitch(speech_music_dirs, tmp_path):
    music, speech = speech_music_dirs
    status, _, mix = run(music, speech, tmp_path, '-b', '1', '--snr', '0', '--refs',
                         '--speed', '1.25', '1.25')
    assert status == 0
    with open(os.path.join(mix, 'manifest.csv')) as handle:
        rows = {r['name']: r for r in csv.DictReader(handle)}
    assert float(rows['s2_m2']['speed']) == 1.25
    # s2 is a 3.5 s tone at 300 Hz: 2.8 s at 375 Hz after the change, so the
    # pair is mixed over 2.8 s (music is 3 s)
    speech_ref = util.load_audio(os.path.join(mix, 's2_m2.speech.wav'))
    assert len(speech_ref) == 2.8 * 16000
    spectrum = np.abs(np.fft.rfft(speech_ref * np.hanning(len(speech_ref))))
    peak_hz = np.argmax(spectrum) * 16000 / len(speech_ref)
    assert abs(peak_hz - 375.0) < 2.0


def test_speed_range_leaves_the_snr_draws_unchanged(speech_music_dirs, tmp_path):
    music, speech = speech_music_dirs
    rows = []
    for k, extra in enumerate(([], ['--speed', '0.9', '1.1'])):
        _, _, mix = run(music, speech, tmp_path / str(k), '-b', '2', '--snr', '-5', '10',
                        '--refs', '--seed', '4', *extra)
        with open(os.path.join(mix, 'manifest.csv')) as handle:
            rows.append(list(csv.DictReader(handle)))
    plain, perturbed = rows
    assert [abs(float(a['snr_db']) - float(b['snr_db'])) < 0.05
            for a, b in zip(plain, perturbed)] == [True] * 4
    speeds = [float(r['speed']) for r in perturbed]
    assert all(0.9 <= s <= 1.1 for s in speeds) and len(set(speeds)) == 4
    assert {float(r['speed']) for r in plain} == {1.0}


def test_speed_out_of_range_is_one_clear_error(speech_music_dirs, tmp_path, capsys):
    music, speech = speech_music_dirs
    status, stft, _ = run(music, speech, tmp_path, '--speed', '1.2', '0.8')
    assert status == 1 and not os.path.exists(stft)
    assert capsys.readouterr().err.strip().count('\n') == 0


def test_psa_adds_the_phase_sensitive_speech_target(speech_music_dirs, tmp_path):
    music, speech = speech_music_dirs
    status, stft, _ = run(music, speech, tmp_path, '-b', '1', '--snr', '0', '--psa')
    assert status == 0
    with np.load(os.path.join(stft, 's1_m1.npz')) as data:
        assert set(data.files) == {'mix', 'vocal', 'inst', 'vocal_psa'}
        psa, vocal, mix = data['vocal_psa'], data['vocal'], data['mix']
    assert psa.shape == vocal.shape and psa.dtype == np.float32
    # never above the mixture (a mask can reach it) nor the speech itself
    assert np.all(psa <= mix + 1e-6) and np.all(psa <= vocal + 1e-6)
    # a chirp over a different harmonic stack: mostly in phase, not all
    assert 0.5 < psa.sum() / vocal.sum() < 1.0


def test_every_file_pairs_each_speech_file_when_music_is_scarcer():
    music = ['m0.wav', 'm1.wav']
    speech = ['s0.wav', 's1.wav', 's2.wav', 's3.wav', 's4.wav']
    seed_pairs = make_dataset.pair_files(music, speech, 1)
    assert [p[2] for p in seed_pairs] == ['s0_m0', 's1_m1']          # the seed's zip
    pairs = make_dataset.pair_files(music, speech, 1, every_file=True)
    assert sorted(p[1] for p in pairs) == speech
    assert [p[0] for p in pairs] == ['m0.wav', 'm1.wav'] * 2 + ['m0.wav']


def test_a_reference_name_that_is_another_pairs_mixture_is_refused(tmp_path, capsys):
    """Music x.wav and x.music.wav (an earlier --refs output fed back in) with
    speech s: s_x.music.wav would be s_x's music and pair s_x.music's
    mixture. Refused in one line before anything is written."""
    write(tmp_path / 'mu' / 'x.wav', noise_bursts(1.0))
    write(tmp_path / 'mu' / 'x.music.wav', noise_bursts(1.0, seed=2))
    write(tmp_path / 'sp' / 's.wav', chirp(1.0))
    status, _, mix = run(str(tmp_path / 'mu'), str(tmp_path / 'sp'), tmp_path, '--refs',
                         '--every-file')
    err = capsys.readouterr().err
    assert status == 1
    assert 's_x.music.wav would be both the music reference of pair s_x' in err
    assert not os.path.exists(mix)
    status, _, mix = run(str(tmp_path / 'mu'), str(tmp_path / 'sp'), tmp_path, '--every-file')
    assert status == 0 and sorted(os.listdir(mix)) == ['s_x.music.wav', 's_x.wav']


def test_a_silent_source_is_mixed_with_a_warning(tmp_path, capsys):
    write(tmp_path / 'mu' / 'm.wav', noise_bursts(1.0))
    write(tmp_path / 'sp' / 's.wav', np.zeros(16000, np.float32))
    status, _, _ = run(str(tmp_path / 'mu'), str(tmp_path / 'sp'), tmp_path, '--snr', '0')
    assert status == 0
    assert 'warning: s_m: the speech is silent, so the mixture is music alone' in \
        capsys.readouterr().err


def test_the_same_pair_again_is_skipped_without_a_warning(speech_music_dirs, tmp_path, capsys):
    """--every-file -b 5 with two files each: loops 3 to 5 repeat loops 1 and 2."""
    music, speech = speech_music_dirs
    status, stft, _ = run(music, speech, tmp_path, '--every-file', '-b', '5')
    assert status == 0 and len(os.listdir(stft)) == 4
    assert 'skipped a second pair' not in capsys.readouterr().err


def test_a_pair_dropped_for_its_name_counts_as_skipped(tmp_path, capsys):
    """Speech a + music b_c and speech a_b + music c are both named a_b_c:
    the second is skipped with a warning and counted in the summary."""
    for folder, name in (('mu', 'b_c'), ('mu', 'c'), ('sp', 'a'), ('sp', 'a_b')):
        write(tmp_path / folder / (name + '.wav'), noise_bursts(1.0, seed=len(name)))
    status, stft, _ = run(str(tmp_path / 'mu'), str(tmp_path / 'sp'), tmp_path, '-b', '1')
    out, err = capsys.readouterr()
    assert status == 0 and os.listdir(stft) == ['a_b_c.npz']
    assert 'skipped a second pair named a_b_c' in err
    assert 'wrote 1 mixture (' in out and out.rstrip().endswith('skipped 1 pair')


def test_unreadable_inputs_are_counted_apart_from_skipped_pairs(tmp_path, capsys):
    """Files left out before pairing are not pairs: the summary counts them
    on their own, beside the warnings that name them."""
    write(tmp_path / 'mu' / 'm.wav', noise_bursts(1.0))
    write(tmp_path / 'sp' / 's.wav', chirp(1.0))
    (tmp_path / 'sp' / 'junk.wav').write_bytes(b'not audio')
    (tmp_path / 'mu' / 'empty.wav').write_bytes(b'')
    status, _, _ = run(str(tmp_path / 'mu'), str(tmp_path / 'sp'), tmp_path, '-b', '1')
    out, err = capsys.readouterr()
    assert status == 0 and err.count('warning: skipped') == 2
    assert out.rstrip().endswith('skipped 0 pairs; left out 2 unreadable input files')


def test_the_same_pair_again_is_not_counted_as_skipped(speech_music_dirs, tmp_path, capsys):
    music, speech = speech_music_dirs
    status, _, _ = run(music, speech, tmp_path, '--every-file', '-b', '5')
    assert status == 0 and capsys.readouterr().out.rstrip().endswith('skipped 0 pairs')


def test_an_interrupted_refs_run_lists_the_pairs_it_finished(speech_music_dirs, tmp_path,
                                                             monkeypatch):
    music, speech = speech_music_dirs
    mix_pair = make_dataset.mix_pair
    done = []

    def stopped_at_the_third(*args, **kwargs):
        if len(done) == 2:
            raise KeyboardInterrupt
        done.append(args[2])
        return mix_pair(*args, **kwargs)
    monkeypatch.setattr(make_dataset, 'mix_pair', stopped_at_the_third)
    status, _, mix = run(music, speech, tmp_path, '-b', '2', '--snr', '0', '--refs')
    assert status == 130
    assert sorted(manifest_snrs(mix)) == sorted(done)


def test_names_that_are_not_utf8_are_mixed_and_listed_as_their_bytes(tmp_path, capsys):
    """A Latin-1 name (``s\\xe9.wav``) crashed soundfile's strict encoding;
    it is mixed, and the manifest keeps its bytes."""
    for folder, name, audio in (('mu', b'm\xe9.wav', noise_bursts(1.0)),
                                ('sp', b's\xe9.wav', chirp(1.0))):
        os.makedirs(str(tmp_path / folder))
        sf.write(os.path.join(os.fsencode(str(tmp_path / folder)), name), audio, 16000)
    status, stft, mix = run(str(tmp_path / 'mu'), str(tmp_path / 'sp'), tmp_path, '-b', '1',
                            '--refs')
    assert status == 0
    assert os.listdir(os.fsencode(stft)) == [b's\xe9_m\xe9.npz']
    with open(os.path.join(mix, 'manifest.csv'), 'rb') as handle:
        assert handle.read().splitlines()[1].startswith(b's\xe9_m\xe9,')


def test_an_snr_just_below_zero_is_written_as_zero(speech_music_dirs, tmp_path):
    """-0.001 dB rounds to -0.0, which the manifest wrote as '-0.0'."""
    music, speech = speech_music_dirs
    status, _, mix = run(music, speech, tmp_path, '-b', '1', '--snr', '-0.001', '--refs')
    assert status == 0
    with open(os.path.join(mix, 'manifest.csv')) as handle:
        assert [row['snr_db'] for row in csv.DictReader(handle)] == ['0.0', '0.0']


@pytest.mark.parametrize('music_folder', ['holds the speech', 'is the speech'])
def test_a_file_in_both_the_speech_and_music_folders_is_refused(
        music_folder, speech_music_dirs, tmp_path, capsys):
    """-m music_speech -s music_speech/speech_wav (or -m X -s X) mixed speech
    with speech, a file with itself; refused as train.py --mix refuses it."""
    music, speech = speech_music_dirs
    music = os.path.dirname(music) if music_folder == 'holds the speech' else speech
    stft, mix = str(tmp_path / 'stft'), str(tmp_path / 'mixdown')
    err = refusal(make_dataset.main, 'make_dataset.py',
                  ['-m', music, '-s', speech, '-t', stft, '-o', mix], capsys)
    assert '2 files are in both the speech folder {} and the music folder {}'.format(
        speech, music) in err
    assert not os.path.exists(stft) and not os.path.exists(mix)


def test_files_of_one_stem_in_one_folder_are_told_apart_by_extension(tmp_path, capsys):
    """sp/talk.wav and sp/talk.flac were both named sp-talk: one pair was
    dropped. The extension now tells them apart; other names stay."""
    write(tmp_path / 'mu' / 'm.wav', noise_bursts(1.0))
    write(tmp_path / 'sp' / 'talk.wav', chirp(1.0))
    write(tmp_path / 'sp' / 'talk.flac', chirp(1.0, f0=400.0), subtype='PCM_16')
    write(tmp_path / 'sp' / 'other.wav', chirp(1.0, f0=300.0))
    status, stft, _ = run(str(tmp_path / 'mu'), str(tmp_path / 'sp'), tmp_path, '-b', '1',
                          '--every-file')
    out, err = capsys.readouterr()
    assert status == 0 and 'warning' not in err
    assert sorted(os.listdir(stft)) == ['other_m.npz', 'sp-talk-flac_m.npz', 'sp-talk-wav_m.npz']
    assert out.rstrip().endswith('skipped 0 pairs')


def test_stem_names_mark_extensions_only_where_they_tell_files_apart(tmp_path, monkeypatch):
    """Extensions had been added to every name still repeated, also where
    they were the same (the names changed, yet still collided), and to a
    file whose stem never repeated (m/a-x.wav beside m/a/x.wav); a file of
    a repeated stem at the top of -s . was named '.-a', hidden."""
    assert make_dataset.stem_names(['s/A/cd1/01.flac', 's/B/cd1/01.flac']) == ['cd1-01'] * 2
    assert make_dataset.stem_names(['m/a/x.wav', 'm/b/x.wav', 'm/a-x.wav']) == [
        'a-x', 'b-x', 'a-x']
    (tmp_path / 'sp').mkdir()
    monkeypatch.chdir(str(tmp_path / 'sp'))
    assert make_dataset.stem_names(['./a.wav', './a.flac', 'b/a.wav']) == [
        'sp-a-wav', 'sp-a-flac', 'b-a']


def test_stem_names_change_only_the_names_that_repeat():
    paths = ['a/x.wav', 'b/x.wav', 'c/y.wav', 'c/t.wav', 'c/t.flac', 'c/u.ogg']
    assert make_dataset.stem_names(paths) == ['a-x', 'b-x', 'y', 'c-t-wav', 'c-t-flac', 'u']


def test_a_pair_whose_file_names_would_be_too_long_is_skipped(tmp_path, capsys):
    """Stems of 125 characters each give a 251-byte pair name: NAME.wav fits
    in a file system's 255 bytes, NAME.speech.wav does not. With --refs the
    pair is skipped before anything is written (the run had stopped half-way
    on 'File name too long'); without, it is written."""
    long_speech, long_music = 'a' * 125, 'b' * 125
    write(tmp_path / 'mu' / (long_music + '.wav'), noise_bursts(1.0))
    write(tmp_path / 'sp' / (long_speech + '.wav'), chirp(1.0))
    write(tmp_path / 'sp' / 's.wav', chirp(1.0, f0=300.0))
    long_name = long_speech + '_' + long_music
    status, stft, mix = run(str(tmp_path / 'mu'), str(tmp_path / 'sp'), tmp_path, '-b', '1',
                            '--every-file', '--refs')
    out, err = capsys.readouterr()
    assert status == 0
    assert err.strip() == ('warning: skipped {0}: its file {0}.speech.wav would have a name of '
                           '262 bytes, more than the 255 a file system holds; shorten the speech '
                           'or music file name'.format(long_name))
    assert os.listdir(stft) == ['s_{}.npz'.format(long_music)]
    assert sorted(manifest_snrs(mix)) == ['s_' + long_music]
    assert out.rstrip().endswith('skipped 1 pair')
    status, stft, _ = run(str(tmp_path / 'mu'), str(tmp_path / 'sp'), tmp_path / 'plain', '-b',
                          '1', '--every-file')
    assert status == 0 and len(os.listdir(stft)) == 2


def test_a_pair_shorter_than_an_stft_frame_is_skipped(tmp_path, capsys):
    """Speech of 1023 samples (and of 1, and of 10 ms) gives a pair shorter
    than one 1024-sample frame: skipped with a warning naming it and counted;
    1024 samples are mixed."""
    write(tmp_path / 'mu' / 'm.wav', noise_bursts(1.0))
    for name, length in (('s1', 1), ('s160', 160), ('s1023', 1023), ('s1024', 1024)):
        write(tmp_path / 'sp' / (name + '.wav'), chirp(1.0)[:length])
    status, stft, _ = run(str(tmp_path / 'mu'), str(tmp_path / 'sp'), tmp_path, '-b', '1',
                          '--every-file')
    out, err = capsys.readouterr()
    assert status == 0 and os.listdir(stft) == ['s1024_m.npz']
    lines = err.strip().splitlines()
    assert [line.split(':')[0] for line in lines] == ['warning'] * 3
    assert [line.split()[2] for line in lines] == ['s1_m:', 's1023_m:', 's160_m:']
    assert lines[0].endswith(': the pair is 1 sample long (0 ms at 16000 Hz), shorter than '
                             'one STFT frame (1024 samples)')
    assert 'the pair is 160 samples long (10 ms at 16000 Hz)' in lines[2]
    assert out.rstrip().endswith('skipped 3 pairs')


def assert_each_pair_of_one_run(stft, mix):
    """Each mixture in ``mix`` equals the sum of its references and gives
    the magnitudes of its npz in ``stft``, where those exist."""
    for name in os.listdir(mix):
        if not name.endswith('.wav') or name.endswith(('.speech.wav', '.music.wav')):
            continue
        base = os.path.join(mix, name[:-len('.wav')])
        mixture = util.load_audio(base + '.wav')
        if os.path.exists(base + '.speech.wav'):
            np.testing.assert_allclose(util.load_audio(base + '.speech.wav')
                                       + util.load_audio(base + '.music.wav'), mixture,
                                       atol=1e-5, err_msg=name)
        npz = os.path.join(stft, name[:-len('.wav')] + '.npz')
        if os.path.exists(npz):
            magnitude = np.abs(util.stft(mixture))
            with np.load(npz) as data:
                np.testing.assert_allclose(data['mix'], magnitude / magnitude.max(),
                                           atol=1e-4, err_msg=name)


@pytest.mark.parametrize('stop', ['writing its music reference', 'renaming its mixture'])
def test_a_rerun_stopped_within_a_pair_leaves_no_files_of_two_runs(
        stop, speech_music_dirs, tmp_path, monkeypatch):
    """--refs at -5 dB, then again at +15 dB, stopped (Ctrl-C, SIGTERM) in
    pair s2_m1: its npz, mixture and references had been renamed into place
    one by one, so a stop between them left a new mixture beside an old
    reference (or an old mixture beside a new npz). Each pair is now wholly
    old, wholly new, or without a mixture."""
    music, speech = speech_music_dirs
    status, stft, mix = run(music, speech, tmp_path, '-b', '2', '--snr', '-5', '--refs')
    assert status == 0
    old_mixture = util.load_audio(os.path.join(mix, 's2_m1.wav'))
    target = os.path.join(mix, 's2_m1.wav')
    if stop.startswith('writing'):
        write_audio = util.write_audio

        def stopped(path, *args, **kwargs):
            if 's2_m1.music.wav' in os.path.basename(path):    # or its temporary
                raise KeyboardInterrupt
            return write_audio(path, *args, **kwargs)
        monkeypatch.setattr(util, 'write_audio', stopped)
    else:
        replace = os.replace

        def stopped(source, destination):
            if destination == target:
                raise KeyboardInterrupt
            return replace(source, destination)
        monkeypatch.setattr(os, 'replace', stopped)
    status, _, _ = run(music, speech, tmp_path, '-b', '2', '--snr', '15', '--refs')
    monkeypatch.undo()
    assert status == 130
    assert_each_pair_of_one_run(stft, mix)
    assert not [name for folder in (stft, mix) for name in os.listdir(folder)
                if '.partial' in name]
    if stop.startswith('writing'):          # the pair as the first run left it
        np.testing.assert_array_equal(util.load_audio(os.path.join(mix, 's2_m1.wav')),
                                      old_mixture)
    else:                                   # no mixture, so evaluate.py finds no item
        assert not os.path.exists(os.path.join(mix, 's2_m1.wav'))
    assert set(manifest_snrs(mix)) == {'s1_m1', 's2_m2', 's1_m2'}


@pytest.mark.parametrize('signum, status', [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=['SIGINT', 'SIGTERM'])
def test_a_stop_once_a_pair_is_renamed_in_keeps_its_manifest_row(
        signum, status, speech_music_dirs, tmp_path, monkeypatch):
    """Ctrl-C or SIGTERM just after pair s2_m1's mixture was renamed into
    place, before its row was kept: the manifest had left out a pair whose
    files were all there. The renames and the row now go together."""
    music, speech = speech_music_dirs
    target = os.path.join(str(tmp_path / 'mixdown'), 's2_m1.wav')
    replace = os.replace

    def stopped_after(source, destination):
        replace(source, destination)
        if destination == target:
            signal.raise_signal(signum)
    monkeypatch.setattr(os, 'replace', stopped_after)
    got, stft, mix = run(music, speech, tmp_path, '-b', '2', '--snr', '0', '--refs')
    monkeypatch.undo()
    assert got == status
    mixtures = {name[:-len('.wav')] for name in os.listdir(mix)
                if name.endswith('.wav') and not name.endswith(('.speech.wav', '.music.wav'))}
    assert 's2_m1' in mixtures and set(manifest_snrs(mix)) == mixtures
    assert_each_pair_of_one_run(stft, mix)


def test_a_pair_skipped_on_a_rerun_loses_its_earlier_files(tmp_path, capsys):
    """A pair mixed with --refs, then skipped on a rerun (its inputs are now
    silent): its earlier mixture, references and npz no longer match its
    inputs, so they go with the warning (train.py had trained on the stale
    npz, evaluate.py scored the old mixture), as its manifest row did."""
    write(tmp_path / 'mu' / 'm.wav', noise_bursts(1.0))
    write(tmp_path / 'mu' / 'n.wav', noise_bursts(1.0, seed=4))
    write(tmp_path / 'sp' / 's.wav', chirp(1.0))
    write(tmp_path / 'sp' / 't.wav', chirp(1.0, f0=300.0))
    status, stft, mix = run(str(tmp_path / 'mu'), str(tmp_path / 'sp'), tmp_path, '-b', '1',
                            '--refs')
    assert status == 0 and sorted(manifest_snrs(mix)) == ['s_m', 't_n']
    for path in (tmp_path / 'mu' / 'm.wav', tmp_path / 'sp' / 's.wav'):
        write(path, np.zeros(16000, np.float32))
    capsys.readouterr()
    status, _, _ = run(str(tmp_path / 'mu'), str(tmp_path / 'sp'), tmp_path, '-b', '1',
                       '--refs')
    out, err = capsys.readouterr()
    assert status == 0 and out.rstrip().endswith('skipped 1 pair')
    assert err.strip().endswith(': the mixture is silent; removed s_m.wav, s_m.npz, '
                                's_m.speech.wav, s_m.music.wav of an earlier run, which no '
                                'longer match its inputs')
    assert os.listdir(stft) == ['t_n.npz']
    assert sorted(os.listdir(mix)) == ['manifest.csv', 't_n.music.wav', 't_n.speech.wav',
                                       't_n.wav']
    assert sorted(manifest_snrs(mix)) == ['t_n']
    status, _, _ = run(str(tmp_path / 'mu'), str(tmp_path / 'sp'), tmp_path, '-b', '1')
    assert status == 0 and 'removed' not in capsys.readouterr().err    # nothing left to remove


@pytest.mark.parametrize('alone, extra, word', [
    ('speech', ['--snr', '5'], '--snr 5'), ('music', ['--snr', '-5', '10'], '--snr -5 10'),
    ('speech', ['-r', '0.5'], '-r 0.5')])
def test_alone_refuses_the_settings_it_leaves_without_effect(alone, extra, word, tmp_path,
                                                             capsys, speech_music_dirs):
    """--alone speech --snr 5 was accepted and printed 'SNR 5.0 to 5.0 dB'
    for items with no music. Refused in one line, nothing written."""
    music, speech = speech_music_dirs
    stft, mix = str(tmp_path / 'stft'), str(tmp_path / 'mixdown')
    err = refusal(make_dataset.main, 'make_dataset.py',
                  ['-m', music, '-s', speech, '-t', stft, '-o', mix, '--alone', alone] + extra,
                  capsys)
    assert '--alone {} with {}: '.format(alone, word) in err
    assert not os.path.exists(stft) and not os.path.exists(mix)


def test_speech_alone_is_played_at_speed_and_cut_to_its_partners_length(
        speech_music_dirs, tmp_path, capsys):
    """--alone speech --speed: the speech is played faster, as in a mixture,
    and each item is cut to its partner music's length (s2, 3.5 s, with m2,
    3 s), so that item NAME is the speech of mixture NAME of the same
    pairing at any --snr."""
    music, speech = speech_music_dirs
    status, _, mix = run(music, speech, tmp_path, '-b', '1', '--alone', 'speech', '--refs',
                         '--speed', '1.1', '1.1')
    out = capsys.readouterr().out
    assert status == 0 and '# level: none (speech alone)' in out
    assert '# speech speed: 1.1 to 1.1' in out
    assert len(util.load_audio(os.path.join(mix, 's2_m2.speech.wav'))) == 3 * 16000
    assert not np.any(util.load_audio(os.path.join(mix, 's2_m2.music.wav')))
    # s1 (3 s) at 1.1 times the speed: 2.73 s, shorter than m1
    assert len(util.load_audio(os.path.join(mix, 's1_m1.speech.wav'))) == \
        len(util.change_speed(np.zeros(3 * 16000, np.float32), 1.1))


def test_the_staged_files_of_a_killed_run_are_removed_by_the_next(speech_music_dirs, tmp_path,
                                                                  capsys):
    """A run killed (SIGKILL, out of memory) while it wrote pair s2_m1 left
    its staged files hidden in -o and -t, and no run removed them: the next
    run removes those of a process that is gone, unchanged for a minute."""
    music, speech = speech_music_dirs
    mix, stft = tmp_path / 'mixdown', tmp_path / 'stft'
    mix.mkdir()
    stft.mkdir()
    dead = _dead_pid()
    stale = [_plant(mix, '.s2_m1.wav.{}.partial.wav'.format(dead), 3600),
             _plant(mix, '.s2_m1.music.wav.{}.partial.wav'.format(dead), 3600),
             _plant(stft, '.s2_m1.npz.{}.partial.npz'.format(dead), 3600)]
    kept = [_plant(mix, '.s1_m1.wav.{}.partial.wav'.format(dead), 0),     # fresh
            _plant(stft, '.s1_m1.npz.{}.partial.npz'.format(os.getppid()), 3600)]   # live
    status, _, _ = run(music, speech, tmp_path, '-b', '2', '--refs')
    assert status == 0
    assert 'removed 3 temporary files left by interrupted runs' in capsys.readouterr().err
    assert not any(os.path.exists(path) for path in stale)
    assert all(os.path.exists(path) for path in kept)


def test_music_alone_at_speed_is_as_long_as_the_mixtures_of_its_pairing(tmp_path):
    """--alone music --speed had been refused, so that no music-alone item
    could match the length of a mixture made with --speed (the speech,
    shorter than the music, sets it)."""
    music, speech = str(tmp_path / 'mu'), str(tmp_path / 'sp')
    for k in range(3):
        write(tmp_path / 'mu' / 'm{}.wav'.format(k), tone(4.0, freq=300 + 50 * k))
        write(tmp_path / 'sp' / 's{}.wav'.format(k), chirp(2.0))
    lengths = []
    for extra in ([], ['--alone', 'music']):
        mix = tmp_path / ('mix' + str(len(extra)))
        assert make_dataset.main(['-m', music, '-s', speech, '-t', str(tmp_path / 'stft'),
                                  '-o', str(mix), '--speed', '0.8', '1.2', '--seed', '3']
                                 + extra) == 0
        lengths.append({p.name: sf.info(str(p)).frames for p in mix.glob('*.wav')})
    assert lengths[0] == lengths[1] and len(set(lengths[0].values())) > 1
