"""make_separate.py: exact lengths, exact overlap-add, folder mode, devices."""
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import const
import make_separate
import util
from conftest import ROOT, chirp, harmonic_stack, noise_bursts, tone, write
from test_util import si_sdr


FAST = ['--shifts', '1', '--speeds', '1']


def separate(*args):
    return make_separate.main(list(args))


@pytest.mark.parametrize('seconds', [0.01, 1.0, 4.096, 61.0])
def test_output_is_exactly_as_long_as_the_input(seconds, tmp_path, model_path):
    source = write(tmp_path / 'in.wav', harmonic_stack(seconds) + noise_bursts(seconds))
    out = str(tmp_path / 'out.wav')
    assert separate('-i', source, '-o', out, '-m', model_path) == 0
    info = sf.info(out)
    assert (info.frames, info.samplerate, info.channels) == (round(seconds * 16000), 16000, 1)
    assert np.all(np.isfinite(sf.read(out)[0]))


@pytest.mark.parametrize('length, overlap', [(128, 64), (128, 0), (64, 16), (256, 128)])
@pytest.mark.parametrize('n', [100, 16000, 16000 * 9 + 333])
def test_all_pass_mask_returns_the_input(n, length, overlap):
    mixture = (chirp(n / 16000) + noise_bursts(n / 16000)).astype(np.float32)
    separator = make_separate.Separator(lambda p: np.ones_like(p), batch=3, length=length,
                                        overlap=overlap)
    speech, music = separator.separate(mixture)
    assert len(speech) == n
    assert si_sdr(mixture, speech) > 40
    assert np.max(np.abs(music)) < 1e-4


def test_mask_and_complement_sum_to_the_mixture(tmp_path, model_path):
    mixture = harmonic_stack(6.0) + noise_bursts(6.0)
    source = write(tmp_path / 'mix.wav', mixture)
    speech_out, music_out = str(tmp_path / 'speech.wav'), str(tmp_path / 'music.wav')
    assert separate('-i', source, '-o', speech_out, '--music-out', music_out,
                    '-m', model_path) == 0
    speech, music = sf.read(speech_out)[0], sf.read(music_out)[0]
    np.testing.assert_allclose(speech + music, mixture, atol=1e-4)
    assert np.std(speech) > 1e-3 and np.std(music) > 1e-3



@pytest.mark.parametrize('rate, extra', [(16000, []), (44100, ['--full-band', '--keep-channels'])])
def test_music_level_keeps_the_music_turned_down_in_the_speech(tmp_path, model_path, rate,
                                                                extra):
    """--music-level -12: the speech output is the speech plus the music at
    a quarter of its amplitude, at 16 kHz and full band in stereo alike;
    --music-out still gets the music whole."""
    voice, bed = harmonic_stack(3.0, rate), chirp(3.0, rate) + noise_bursts(3.0, rate)
    mixture = np.stack([voice + bed, 0.5 * voice + bed], axis=1) if extra else voice + bed
    source = write(tmp_path / 'mix.wav', mixture, rate)
    fast = ['-m', model_path, '--shifts', '1', '--speeds', '1'] + extra
    outputs = {}
    for name, level in (('cut', []), ('kept', ['--music-level', '-12'])):
        speech, music = str(tmp_path / (name + '.wav')), str(tmp_path / (name + '.music.wav'))
        assert separate('-i', source, '-o', speech, '--music-out', music, *(fast + level)) == 0
        outputs[name] = sf.read(speech, dtype='float32')[0], sf.read(music, dtype='float32')[0]
    (speech, music), (kept, music_again) = outputs['cut'], outputs['kept']
    assert np.std(music) > 1e-3
    np.testing.assert_array_equal(music_again, music)
    np.testing.assert_allclose(kept, speech + 10 ** (-12 / 20) * music, atol=1e-6)


@pytest.mark.parametrize('level', ['0', '6', 'nan'])
def test_music_level_must_turn_the_music_down(tmp_path, model_path, capsys, level):
    source = write(tmp_path / 'mix.wav', tone(1.0))
    out = tmp_path / 'out.wav'
    assert separate('-i', source, '-o', str(out), '-m', model_path,
                    '--music-level', level) == 1
    err = capsys.readouterr().err
    assert '--music-level' in err and 'below 0 dB' in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_music_level_minus_infinity_removes_the_music(tmp_path, model_path, capsys):
    """-inf dB is no music at all: the settings say removed, and the speech
    is that of a run without the option."""
    source = write(tmp_path / 'mix.wav', harmonic_stack(1.0) + noise_bursts(1.0))
    fast = ['-i', source, '-m', model_path, '--shifts', '1', '--speeds', '1']
    assert separate(*fast, '-o', str(tmp_path / 'plain.wav')) == 0
    capsys.readouterr()
    assert separate(*fast, '-o', str(tmp_path / 'inf.wav'), '--music-level=-inf') == 0
    settings = [line for line in capsys.readouterr().out.splitlines() if line.startswith('# music')]
    assert settings and 'removed' in settings[0] and 'inf' not in settings[0]
    np.testing.assert_array_equal(sf.read(str(tmp_path / 'inf.wav'))[0],
                                  sf.read(str(tmp_path / 'plain.wav'))[0])


def level_mask(patches):
    """A mask that follows the magnitude, the same whichever pass asks."""
    return patches / (patches + 0.05)


@pytest.mark.parametrize('shifts', [1, 2, 3])
@pytest.mark.parametrize('n', [100, 16000 * 2 + 77])
def test_shifted_passes_keep_length_and_the_all_pass_identity(shifts, n):
    mixture = (chirp(n / 16000) + noise_bursts(n / 16000)).astype(np.float32)
    separator = make_separate.Separator(lambda p: np.ones_like(p), shifts=shifts)
    speech, music = separator.separate(mixture)
    assert len(speech) == len(music) == n
    assert si_sdr(mixture, speech) > 40 and np.max(np.abs(music)) < 1e-4


def test_shifts_average_separations_of_delayed_frame_grids():
    """Two shifts: the mean of the mixture separated as it is and separated
    with its STFT frames half a hop later (256 samples of silence first)."""
    mixture = (harmonic_stack(3.0) + noise_bursts(3.0)).astype(np.float32)
    n, delay = len(mixture), 256
    scale = make_separate.normalisation(make_separate.peak_magnitude([mixture]))
    single = make_separate.Separator(level_mask, shifts=1, speeds=())

    def speech_of(signal):
        return np.concatenate([part[0] for part in single.stream([signal], len(signal), scale)])

    late = speech_of(np.concatenate([np.zeros(delay, np.float32), mixture]))[delay:]
    expected = (speech_of(mixture) + late) / 2
    speech, music = make_separate.Separator(level_mask, shifts=2, speeds=()).separate(mixture)
    np.testing.assert_allclose(speech, expected, atol=1e-5)
    np.testing.assert_allclose(speech + music, mixture, atol=1e-5)
    assert np.max(np.abs(speech - speech_of(mixture))) > 1e-3   # the average differs


@pytest.mark.parametrize('shifts, speeds', [(1, ()), (2, ()), (1, (0.9, 1.05))])
def test_streaming_in_blocks_equals_the_whole_array(shifts, speeds):
    """Files are read in blocks: uneven blocks give what one array gives."""
    mixture = (chirp(23.0) + noise_bursts(23.0)).astype(np.float32)
    separator = make_separate.Separator(level_mask, shifts=shifts, speeds=speeds)
    whole = separator.separate(mixture)
    cuts = [0, 1, 5000, 5001, 160000, 200000, len(mixture)]
    blocks = [mixture[a:b] for a, b in zip(cuts, cuts[1:])]
    scale = make_separate.normalisation(make_separate.peak_magnitude(blocks))
    parts = list(separator.stream(blocks, len(mixture), scale))
    for k in range(2):
        streamed = np.concatenate([part[k] for part in parts])
        np.testing.assert_allclose(streamed, whole[k], atol=1e-5)


@pytest.mark.parametrize('n', [1, 100, 16000 * 2 + 77])
def test_speed_views_keep_length_the_all_pass_identity_and_a_constant_mask(n):
    mixture = (chirp(n / 16000) + noise_bursts(n / 16000)).astype(np.float32)
    for gain in (1.0, 0.5):
        separator = make_separate.Separator(lambda p: np.full_like(p, gain), shifts=2,
                                            speeds=(0.9, 1.05))
        speech, music = separator.separate(mixture)
        assert len(speech) == len(music) == n
        np.testing.assert_allclose(speech, gain * mixture, atol=1e-5)
        np.testing.assert_allclose(speech + music, mixture, atol=1e-6)


def test_speed_views_average_resampled_separations_below_the_filter_edge():
    """Speeds 0.9 and 1.1: the mean of the plain separation and of the
    mixture played 0.9 and 1.1 times as fast, separated and played back,
    each view's top band (lost by resampling twice) from the plain one."""
    mixture = (harmonic_stack(4.0) + noise_bursts(4.0)).astype(np.float32)
    n = len(mixture)
    plain = make_separate.Separator(level_mask, shifts=1, speeds=())

    def fitted(signal):
        return np.pad(signal[:n], (0, max(0, n - len(signal))))

    def there_and_back(signal, speed, separate=lambda s: s):
        return fitted(util.change_speed(separate(util.change_speed(signal, speed)), 1 / speed))

    scale = make_separate.normalisation(make_separate.peak_magnitude([mixture]))

    def separate(signal):          # every view scaled as the mixture is
        return np.concatenate([part[0] for part in plain.stream([signal], len(signal), scale)])

    p = separate(mixture)
    views = [there_and_back(mixture, f, separate) + p
             - there_and_back(p, f) for f in (0.9, 1.1)]
    expected = (p + sum(views)) / 3
    speech, _ = make_separate.Separator(level_mask, shifts=1, speeds=(0.9, 1.1)).separate(
        mixture)
    np.testing.assert_allclose(speech, expected, atol=2e-4)
    assert np.max(np.abs(speech - p)) > 1e-2                  # the views change it
    spectrum = np.abs(util.stft(speech - p))[:, 2:-2]      # frames away from the ends
    top = spectrum[int(0.982 * const.N_BINS):].max()       # above the filters' edge:
    assert top < 1e-3 * spectrum.max()                      # the plain view's own


def test_speed_views_out_of_range_are_refused_in_one_line(tmp_path, model_path, capsys):
    mixture = write(tmp_path / 'mix.wav', tone(1.0))
    for speeds in (['0.5'], ['nan'], ['1.05'] * (const.MAX_SPEED_VIEWS + 1)):
        assert make_separate.main(['-i', mixture, '-o', str(tmp_path / 'out.wav'),
                                   '-m', model_path, '--speeds'] + speeds) == 1
        assert '--speeds' in capsys.readouterr().err
    assert not (tmp_path / 'out.wav').exists()


def test_hard_mask_is_binary():
    mixture = harmonic_stack(3.0)
    soft = make_separate.Separator(lambda p: np.full_like(p, 0.6))
    hard = make_separate.Separator(lambda p: np.full_like(p, 0.6), hard_mask=True)
    np.testing.assert_allclose(soft.separate(mixture)[0], 0.6 * mixture, atol=1e-4)
    np.testing.assert_allclose(hard.separate(mixture)[0], mixture, atol=1e-4)


def test_cross_fade_hides_patch_borders():
    """Masks that jump from patch to patch leave no click in the output."""
    calls = []

    def mask_fn(patches):
        out = np.empty_like(patches)
        for b in range(len(patches)):
            calls.append(0)
            out[b] = 0.3 if len(calls) % 2 else 0.7
        return out

    mixture = tone(20.0, amp=0.5)
    speech, _ = make_separate.Separator(mask_fn, shifts=1).separate(mixture)
    envelope = np.abs(speech[4000:-4000]).reshape(-1, 400).max(axis=1)
    assert np.max(np.abs(np.diff(envelope))) < 0.02


def test_patch_length_is_an_option(tmp_path, model_path):
    # the model is fully convolutional: longer patches run, and mask differently
    source = write(tmp_path / 'in.wav', harmonic_stack(9.0) + noise_bursts(9.0))
    outs = [str(tmp_path / name) for name in ('default.wav', 'long.wav')]
    assert separate('-i', source, '-o', outs[0], '-m', model_path) == 0
    assert separate('-i', source, '-o', outs[1], '-m', model_path, '--patch-length', '256') == 0
    default, long = (sf.read(out)[0] for out in outs)
    assert len(default) == len(long) == 9 * 16000
    assert np.all(np.isfinite(long)) and not np.allclose(default, long, atol=1e-4)


@pytest.mark.parametrize('level', ['patch', 'file'])
def test_a_loud_moment_elsewhere_leaves_the_rest_alone(level, tmp_path, model_path):
    # a quiet passage separated alone, and again with a burst 40 dB louder
    # 4 s after it: patch levelling (the default) separates the passage the
    # same way; upstream's whole-file scaling does not
    quiet = 0.01 * (harmonic_stack(8.0) + noise_bursts(8.0))
    burst = noise_bursts(2.0, seed=3)
    burst = burst / np.max(np.abs(burst))
    alone = write(tmp_path / 'alone.wav', quiet)
    loud = write(tmp_path / 'loud.wav', np.concatenate([quiet, np.zeros(4 * 16000), burst]))
    outs = [str(tmp_path / name) for name in ('alone_out.wav', 'loud_out.wav')]
    for source, out in zip((alone, loud), outs):
        assert separate('-i', source, '-o', out, '-m', model_path, '--level', level) == 0
    first = [sf.read(out)[0][:4 * 16000] for out in outs]
    change = np.max(np.abs(first[0] - first[1])) / np.max(np.abs(first[0]))
    if level == 'patch':
        assert change < 1e-3
    else:
        assert change > 1e-2


def test_input_rate_and_channels(tmp_path, model_path):
    stereo = np.stack([tone(2.0, 44100), chirp(2.0, 44100)], axis=1)
    source = write(tmp_path / 'stereo.flac', stereo, 44100, 'PCM_16')
    out16, out_native = str(tmp_path / 'a.wav'), str(tmp_path / 'b.flac')
    assert separate('-i', source, '-o', out16, '-m', model_path) == 0
    assert separate('-i', source, '-o', out_native, '-m', model_path, '--sr') == 0
    assert sf.info(out16).frames == 32000
    native = sf.info(out_native)
    assert (native.samplerate, native.frames, native.format) == (44100, 88200, 'FLAC')


def test_folder_mode_mirrors_relative_paths(tmp_path, model_path, capsys):
    source = tmp_path / 'mixdown'
    write(source / 'a.wav', tone(1.0))
    write(source / 'sub' / 'b.flac', chirp(1.5), subtype='PCM_16')
    write(source / 'a.speech.wav', tone(1.0))       # evaluate.py's references are skipped
    out = tmp_path / 'separate'
    assert separate('-i', str(source), '-o', str(out), '-m', model_path) == 0
    written = sorted(os.path.relpath(os.path.join(r, f), str(out))
                     for r, _, files in os.walk(str(out)) for f in files)
    assert written == ['a.wav', os.path.join('sub', 'b.wav')]
    assert sf.info(str(out / 'sub' / 'b.wav')).frames == 24000
    assert 'separated 2 of 2 files' in capsys.readouterr().out


def test_format_names_the_folder_outputs(tmp_path, model_path, capsys):
    """--format flac: a folder run writes FLAC speech and music, named
    .flac, as long as their inputs; a single input into a folder too."""
    source = tmp_path / 'mixdown'
    write(source / 'a.wav', tone(1.0))
    write(source / 'sub' / 'b.mp3', chirp(1.5), subtype='MPEG_LAYER_III')
    out, music = tmp_path / 'separate', tmp_path / 'music'
    assert separate('-i', str(source), '-o', str(out), '--music-out', str(music),
                    '--format', 'flac', '-m', model_path, *FAST) == 0
    for folder in (out, music):
        written = sorted(os.path.relpath(os.path.join(r, f), str(folder))
                         for r, _, files in os.walk(str(folder)) for f in files)
        assert written == ['a.flac', os.path.join('sub', 'b.flac')]
        info = sf.info(str(folder / 'sub' / 'b.flac'))
        assert (info.format, abs(info.frames - 24000) < 1200) == ('FLAC', True)  # mp3's padding
        assert sf.info(str(folder / 'a.flac')).frames == 16000
    assert separate('-i', str(source / 'a.wav'), '-o', str(tmp_path / 'one'),
                    '--format', 'ogg', '-m', model_path, *FAST) == 0
    assert sf.info(str(tmp_path / 'one' / 'a.ogg')).format == 'OGG'


@pytest.mark.parametrize('option', ['-o', '--music-out'])
def test_format_and_a_named_file_of_another_type_are_refused(tmp_path, model_path, capsys,
                                                             option):
    """--format flac with -o out.wav (or --music-out music.wav) is one line,
    before anything is written."""
    source = write(tmp_path / 'in.wav', tone(1.0))
    out = str(tmp_path / ('out.wav' if option == '-o' else 'out.flac'))
    music = str(tmp_path / 'music.wav')
    assert separate('-i', source, '-o', out, '--music-out', music, '--format', 'flac',
                    '-m', model_path) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and option + ' ' in err and '--format flac' in err
    assert not os.path.exists(out) and not os.path.exists(music)


def test_existing_output_needs_overwrite(tmp_path, model_path, capsys):
    source = write(tmp_path / 'in.wav', tone(1.0))
    out = write(tmp_path / 'out.wav', tone(0.5))
    assert separate('-i', source, '-o', out, '-m', model_path) == 1
    assert 'use --overwrite' in capsys.readouterr().err
    assert sf.info(out).frames == 8000
    assert separate('-i', source, '-o', out, '-m', model_path, '--overwrite') == 0
    assert sf.info(out).frames == 16000


def test_skip_existing_picks_up_a_stopped_folder_run(tmp_path, model_path, capsys):
    source = tmp_path / 'mixdown'
    for k, name in enumerate(('a.wav', 'b.wav', 'c.wav')):
        write(source / name, tone(1.0, freq=300 + 100 * k))
    out = tmp_path / 'separate'
    write(out / 'a.wav', tone(0.25))                  # left by the stopped run: kept
    args = ['-i', str(source), '-o', str(out), '-m', model_path]
    assert separate(*args) == 1                        # a.wav exists: refused without the option
    assert 'use --overwrite' in capsys.readouterr().err
    os.remove(str(out / 'b.wav'))
    assert separate(*args, '--skip-existing') == 0
    printed = capsys.readouterr().out
    assert 'separated 1 of 1 file' in printed and 'skipped 2 whose outputs exist' in printed
    assert sf.info(str(out / 'a.wav')).frames == 4000
    assert sf.info(str(out / 'b.wav')).frames == sf.info(str(out / 'c.wav')).frames == 16000
    assert separate(*args, '--skip-existing') == 0
    assert 'nothing to separate: the outputs of all 3 files exist' in capsys.readouterr().out


def test_a_folder_run_left_with_one_failing_file_still_sums_up(tmp_path, model_path, capsys):
    """The last file of a folder run (the others skipped) fails as a folder's
    file does: listed in the summary, which counts the skipped ones."""
    source = tmp_path / 'mixdown'
    write(source / 'a.wav', tone(1.0))
    (source / 'c.wav').write_text('not audio')
    out = tmp_path / 'separate'
    write(out / 'a.wav', tone(0.25))
    assert separate('-i', str(source), '-o', str(out), '-m', model_path, '--skip-existing') == 1
    printed = capsys.readouterr()
    assert 'separated 0 of 1 file' in printed.out and 'skipped 1 whose outputs exist' in printed.out
    assert '1 failed:' in printed.err and 'c.wav' in printed.err
    assert sorted(os.listdir(str(out))) == ['a.wav']


def test_skip_existing_needs_both_outputs(tmp_path, model_path, capsys):
    """A speech file without its music (--music-out added since) is not done,
    and is not written over either."""
    source = write(tmp_path / 'in.wav', tone(1.0))
    speech, music = write(tmp_path / 'speech.wav', tone(0.5)), str(tmp_path / 'music.wav')
    status = separate('-i', source, '-o', speech, '--music-out', music, '-m', model_path,
                      '--skip-existing')
    err = capsys.readouterr().err
    assert status == 1 and len(err.strip().splitlines()) == 1
    assert 'in.wav' in err and 'music.wav does not' in err and '--overwrite' in err
    assert sf.info(speech).frames == 8000 and not os.path.exists(music)


def test_skip_existing_still_refuses_the_input_as_output(tmp_path, model_path, capsys):
    source = write(tmp_path / 'in.wav', tone(1.0))
    assert separate('-i', source, '-o', source, '-m', model_path, '--skip-existing') == 1
    assert 'the output is the input file' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        separate('-i', source, '-o', str(tmp_path / 'o.wav'), '--skip-existing', '--overwrite')
    assert 'not allowed with' in capsys.readouterr().err


def test_gpu_without_cupy_is_one_clear_line(tmp_path, model_path, capsys):
    source = write(tmp_path / 'in.wav', tone(1.0))
    status = separate('-i', source, '-o', str(tmp_path / 'o.wav'), '-m', model_path, '-g', '0')
    err = capsys.readouterr().err.strip()
    assert status == 1
    assert len(err.splitlines()) == 1 and '-g 0' in err and 'CuPy' in err
    assert not os.path.exists(str(tmp_path / 'o.wav'))


def test_same_input_gives_the_same_bytes(tmp_path, model_path):
    """No timestamp in the output: rerunning `make` leaves git status clean."""
    source = write(tmp_path / 'in.wav', harmonic_stack(2.0))
    outputs = [str(tmp_path / 'a.wav'), str(tmp_path / 'b.wav')]
    for out in outputs:
        assert separate('-i', source, '-o', out, '-m', model_path) == 0
    with open(outputs[0], 'rb') as a, open(outputs[1], 'rb') as b:
        assert a.read() == b.read()


def test_opus_output_by_its_extension(tmp_path, model_path, capsys):
    """``-o speech.opus`` writes Ogg Opus (it was taken for a folder name),
    as long as the input; a rate Opus cannot hold is refused first."""
    source = write(tmp_path / 'in.wav', harmonic_stack(1.3))
    out = str(tmp_path / 'speech.opus')
    assert separate('-i', source, '-o', out, '-m', model_path) == 0
    info = sf.info(out)
    assert (info.format, info.subtype, info.frames, info.samplerate) == \
        ('OGG', 'OPUS', 20800, 16000)
    stereo = write(tmp_path / 'cd.wav', np.stack([tone(1.0, 44100)] * 2, axis=1), 44100)
    assert separate('-i', stereo, '-o', str(tmp_path / 'cd.opus'), '--sr',
                    '-m', model_path) == 1
    assert 'Opus holds only' in capsys.readouterr().err
    assert not os.path.exists(str(tmp_path / 'cd.opus'))
    assert separate('-i', stereo, '-o', str(tmp_path / 'cd.opus'), '--sr', '48000',
                    '--keep-channels', '-m', model_path) == 0
    assert sf.info(str(tmp_path / 'cd.opus')).channels == 2


@pytest.mark.parametrize('setting, named', [
    (dict(equalise=True), 'equalise=True'), (dict(level='Patch'), "level='Patch'"),
    (dict(shifts=0), 'shifts=0'), (dict(speeds=(0,)), 'speeds=0'),
    (dict(speeds=1.05), 'speeds=1.05'), (dict(speeds=(3.0,)), 'speeds=3'),
    (dict(length=100), 'length=100'), (dict(overlap=64.5), 'overlap=64.5'),
    (dict(batch=0), 'batch=0'), (dict(gpu=None), 'gpu=None'),
    (dict(hard_mask='yes'), "hard_mask='yes'"), (dict(speeds='ab'), "speeds='ab'")])
def test_python_settings_the_cli_would_refuse_are_a_value_error(model_path, setting, named):
    """load_separator checks what make_separate.py's options check, naming
    the keyword, instead of failing deep inside (or silently turning the
    equaliser off for equalise=True)."""
    with pytest.raises(ValueError) as refused:
        make_separate.load_separator(model_path, **setting)
    assert str(refused.value).startswith(named), refused.value


def test_python_patches_of_64_share_half_a_patch_as_the_cli_does(model_path):
    separator = make_separate.load_separator(model_path, length=64, shifts=1, speeds=())
    assert separator.patching['overlap'] == 32
    speech, _ = separator.separate(noise_bursts(1.5))
    assert speech.shape == (24000,) and np.all(np.isfinite(speech))


def test_python_refuses_float_samples_far_beyond_full_scale(model_path):
    separator = make_separate.load_separator(model_path, shifts=1, speeds=())
    with pytest.raises(util.AudioError, match='times full scale'):
        separator.separate(tone(1.0) * np.float32(3e36))      # finite, but NaN out before
    with pytest.raises(ValueError, match='no channels'):
        separator.separate(np.zeros((100, 0), np.float32))
    loud = separator.separate((tone(1.0) * 2 ** 30).astype(np.int32))[0]   # integer units
    assert np.all(np.isfinite(loud)) and np.abs(loud).max() > 1e6


def test_separating_an_array_in_python_equals_the_cli(tmp_path, model_path):
    """README's "From Python": ``load_separator(model).separate(mixture, rate)``
    gives what ``make_separate.py --sr`` writes for the same recording."""
    stereo = np.stack([harmonic_stack(1.7, 44100) + noise_bursts(1.7, 44100),
                       chirp(1.7, 44100)], axis=1)
    source = write(tmp_path / 'cd.wav', stereo, 44100)
    speech_file, music_file = str(tmp_path / 's.wav'), str(tmp_path / 'm.wav')
    assert separate('-i', source, '-o', speech_file, '--music-out', music_file, '--sr',
                    '-m', model_path) == 0
    separator = make_separate.load_separator(model_path)
    mixture, rate = sf.read(source, dtype='float32')
    speech, music = separator.separate(mixture, rate)
    assert speech.shape == music.shape == (len(mixture),) and speech.dtype == np.float32
    np.testing.assert_allclose(speech, sf.read(speech_file)[0], atol=1e-6)
    np.testing.assert_allclose(music, sf.read(music_file)[0], atol=1e-6)
    with pytest.raises(ValueError, match=r'reads as 74970 channels of 2 samples.*mixture\.T'):
        separator.separate(mixture.T, rate)              # channels first: refused, not misread
    for bad_rate in (0, -16000, float('nan'), 100):
        with pytest.raises(ValueError, match='sample rate of at least'):
            separator.separate(mixture, bad_rate)
    one_sample = separator.separate(mixture[:1], rate)   # (1, 2): one stereo sample is fine
    assert one_sample[0].shape == (1,) and np.all(np.isfinite(one_sample[0]))
    mixture[100] = np.nan
    with pytest.raises(util.AudioError, match='NaN'):
        separator.separate(mixture, rate)


# --------------------------------------------------------------------------
# File names that are not valid UTF-8 (an old Windows or Latin-1 disk)

LATIN1 = os.fsdecode(b'caf\xe9')      # 'caf\udce9': the byte 0xe9 as a surrogate escape


def test_names_that_are_not_utf8_are_read_written_and_reported(tmp_path, model_path):
    """Such a name crashed soundfile's strict encoding of a str path; it is
    read and written as its bytes, and the report keeps those bytes."""
    mixes = tmp_path / 'mix'
    mixes.mkdir()
    sf.write(os.fsencode(str(mixes / (LATIN1 + '.wav'))), harmonic_stack(1.0) + noise_bursts(1.0),
             16000, subtype='PCM_16')
    write(mixes / 'plain.wav', tone(1.0), subtype='PCM_16')
    out, report = tmp_path / ('out' + LATIN1), tmp_path / 'report.csv'
    assert separate('-i', str(mixes), '-o', str(out), '-m', model_path, '--report',
                    str(report), *FAST) == 0
    assert sorted(os.listdir(os.fsencode(str(out)))) == [b'caf\xe9.wav', b'plain.wav']
    assert sf.info(os.path.join(os.fsencode(str(out)), b'caf\xe9.wav')).frames == 16000
    with open(str(report), 'rb') as handle:
        assert os.fsencode(str(mixes / LATIN1)) + b'.wav,' in handle.read()
    single = tmp_path / (LATIN1 + '-speech.flac')
    assert separate('-i', str(mixes / (LATIN1 + '.wav')), '-o', str(single), '-m', model_path,
                    *FAST) == 0
    assert sf.info(os.fsencode(str(single))).frames == 16000


def test_names_that_are_not_utf8_print_where_stdout_is_strict(tmp_path, model_path):
    """Under a UTF-8 locale stdout refuses surrogate escapes; the settings
    line then shows the byte as ``\\udce9`` instead of ending the run."""
    source = str(tmp_path / (LATIN1 + '.wav'))
    sf.write(os.fsencode(source), tone(0.5), 16000, subtype='PCM_16')
    done = subprocess.run([sys.executable, os.path.join(ROOT, 'make_separate.py'), '-i', source,
                           '-o', str(tmp_path / 'out.wav'), '-m', model_path, *FAST],
                          capture_output=True, timeout=120,
                          env=dict(os.environ, PYTHONIOENCODING='utf-8'))
    assert done.returncode == 0, done.stderr
    assert b'# input: ' + os.fsencode(str(tmp_path)) + b'/caf\\udce9.wav (1 file)' in done.stdout


def test_a_reader_that_closes_the_printed_lines_pipe_is_one_line(tmp_path, model_path):
    """``make_separate.py ... | head -1``: the settings and summary meet a
    closed pipe; one line on stderr and status 1, not a BrokenPipeError
    traceback, and no temporary file left."""
    source = write(tmp_path / 'in.wav', tone(0.5), subtype='PCM_16')
    writer = subprocess.Popen([sys.executable, os.path.join(ROOT, 'make_separate.py'),
                               '-i', source, '-o', str(tmp_path / 'out.wav'), '-m', model_path,
                               *FAST], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    writer.stdout.close()
    err = writer.stderr.read().decode(errors='replace')
    assert writer.wait(timeout=120) == 1
    assert err.splitlines() == ['make_separate.py: error: stdout: the program reading it '
                                'closed the pipe before all was printed'], err
    assert not [name for name in os.listdir(str(tmp_path)) if name.endswith('.partial')]


# --------------------------------------------------------------------------
# libsndfile's other containers; sample formats that would change the length

@pytest.mark.parametrize('ext, fmt, subtype', [
    ('.caf', 'CAF', 'PCM_16'), ('.au', 'AU', 'PCM_16'), ('.snd', 'AU', 'PCM_16'),
    ('.w64', 'W64', 'FLOAT'), ('.rf64', 'RF64', 'FLOAT'), ('.AIFF', 'AIFF', 'PCM_16')])
def test_other_containers_are_files_not_folders(tmp_path, model_path, ext, fmt, subtype):
    """``-o speech.caf`` had become a folder holding ``speech.caf/in.wav``,
    and a folder run passed .caf, .au and .w64 inputs by without a word."""
    source = write(tmp_path / 'in.wav', tone(0.7), subtype='PCM_16')
    out = tmp_path / ('speech' + ext)
    assert separate('-i', source, '-o', str(out), '-m', model_path, *FAST) == 0
    info = sf.info(str(out))
    assert (info.format, info.subtype, info.frames) == (fmt, subtype, 11200)
    folder = tmp_path / 'folder'
    folder.mkdir()
    os.replace(str(out), str(folder / ('mix' + ext)))
    assert separate('-i', str(folder), '-o', str(tmp_path / 'sep'), '-m', model_path, *FAST) == 0
    assert os.listdir(str(tmp_path / 'sep')) == ['mix.wav']


@pytest.mark.parametrize('source, ext, written', [
    ('PCM_24', '.flac', 'PCM_24'), ('FLOAT', '.flac', 'PCM_24'), ('PCM_32', '.aiff', 'PCM_24'),
    ('DOUBLE', '.caf', 'PCM_24'), ('PCM_24', '.au', 'PCM_24'), ('PCM_16', '.flac', 'PCM_16'),
    ('PCM_U8', '.flac', 'PCM_16'), ('PCM_24', '.wav', 'FLOAT'), ('PCM_24', '.ogg', 'VORBIS')])
def test_outputs_keep_an_input_deeper_than_16_bits(tmp_path, model_path, source, ext, written):
    """A 24-bit or float recording written to FLAC, AIFF, CAF or AU had come
    out 16-bit; it now keeps 24 bits (wav stays float)."""
    path = write(tmp_path / 'in.wav', tone(0.7), subtype=source)
    out = tmp_path / ('speech' + ext)
    music = tmp_path / ('music' + ext)
    assert separate('-i', path, '-o', str(out), '--music-out', str(music), '-m', model_path,
                    *FAST) == 0
    assert sf.info(str(out)).subtype == sf.info(str(music)).subtype == written
    assert separate('-i', path, '-o', str(tmp_path / ('sixteen' + ext)), '--subtype',
                    'PCM_16' if ext != '.ogg' else 'VORBIS', '-m', model_path, *FAST) == 0


@pytest.mark.parametrize('name, subtype, words', [
    ('o.wav', 'IMA_ADPCM', 'come back longer than written'),
    ('o.wav', 'MS_ADPCM', 'come back longer than written'),
    ('o.wav', 'GSM610', 'come back longer than written'),
    ('o.aiff', 'PCM_S8', 'come back longer than written'),
    ('o.opus', 'VORBIS', 'a .opus file holds Opus')])
def test_sample_formats_that_break_the_promise_are_refused_before_work(
        tmp_path, model_path, capsys, name, subtype, words):
    """Block codecs pad to whole blocks (an IMA ADPCM output was 816 samples
    longer than its input); Vorbis in a file named .opus misnames it."""
    source = write(tmp_path / 'in.wav', tone(3.0), subtype='PCM_16')
    assert separate('-i', source, '-o', str(tmp_path / name), '-m', model_path, '--subtype',
                    subtype) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and '--subtype {}: '.format(subtype) in err and words in err
    assert os.listdir(str(tmp_path)) == ['in.wav']


def test_speech_and_music_scaled_to_fit_are_scaled_alike(tmp_path, model_path, capsys):
    """A float mixture peaking at 3: both estimates peak past full scale, each
    by its own amount, and are scaled down to fit FLAC's 24 bits by the larger
    cut, so that the two still add up to the mixture (one had been cut by
    less, and they had parted by up to -43 dB)."""
    t = np.arange(32000) / 16000
    source = write(tmp_path / 'loud.wav', 3.0 * np.sign(np.sin(2 * np.pi * 100 * t))
                   + noise_bursts(2.0), subtype='FLOAT')
    speech, music = tmp_path / 's.flac', tmp_path / 'm.flac'
    assert separate('-i', source, '-o', str(speech), '--music-out', str(music), '-m', model_path,
                    *FAST) == 0
    err = capsys.readouterr().err
    assert 'to fit PCM_24' in err and 'so that they still add up to the mixture' in err
    mixture = sf.read(source)[0]
    total = sf.read(str(speech))[0] + sf.read(str(music))[0]
    gain = np.dot(total, mixture) / np.dot(mixture, mixture)
    assert 0.1 < gain < 1.0
    residual = total - gain * mixture
    assert 10 * np.log10(np.sum(residual ** 2) / np.sum(mixture ** 2)) < -70


def test_subtype_names_in_any_case(tmp_path, model_path):
    """``--subtype opus`` for a .opus file was refused as another codec, and
    ``--subtype float`` was scaled as an integer format."""
    source = write(tmp_path / 'in.wav', tone(0.5), subtype='PCM_16')
    for name, subtype, kind in (('o.opus', 'opus', 'OPUS'), ('o.wav', 'float', 'FLOAT')):
        assert separate('-i', source, '-o', str(tmp_path / name), '-m', model_path,
                        '--subtype', subtype, '--sr', '48000', *FAST) == 0
        assert sf.info(str(tmp_path / name)).subtype == kind


def test_a_closed_stderr_does_not_stop_the_run(tmp_path, model_path):
    """Started with stderr closed (``2>&-``), the run had ended at its first
    warning or progress line."""
    source = write(tmp_path / 'in.wav', tone(0.5), subtype='PCM_16')
    done = subprocess.run([sys.executable, os.path.join(ROOT, 'make_separate.py'), '-i', source,
                           '-o', str(tmp_path / 'out.wav'), '-m', model_path, *FAST],
                          stdout=subprocess.PIPE, timeout=120, preexec_fn=lambda: os.close(2))
    assert done.returncode == 0
    assert sf.info(str(tmp_path / 'out.wav')).frames == 8000


class _Bar:
    """A stand-in for tqdm that records the seconds it shows."""

    def __init__(self, *args, total=None, **keys):
        self.total, self.n, self.shown = total, 0, []

    def update(self, count=1):
        self.n += count
        self.shown.append(self.n)

    def refresh(self):
        self.shown.append(self.n)

    def close(self):
        pass


@pytest.mark.parametrize('seconds, rate, extra', [(116.3, 44100, {}), (37.7, 16000, {}),
                                                  (9.9, 48000, {'sr': 'input',
                                                                'full_band': True})])
def test_the_progress_bar_counts_tenths_of_a_second_to_its_total(seconds, rate, extra,
                                                                  tmp_path, monkeypatch):
    """The bar showed 116.30000000000001/116.3 mid-way and ended at 115.9:
    rounded seconds were added up. It shows the seconds done, to 0.1, and
    ends at its total."""
    bars = []

    def made(*args, **keys):
        bars.append(_Bar(*args, **keys))
        return bars[-1]
    monkeypatch.setattr(make_separate, 'tqdm', made)
    source = write(tmp_path / 'in.wav', tone(seconds, rate), rate)
    separator = make_separate.Separator(lambda p: np.ones_like(p), shifts=1, speeds=())
    make_separate.separate_readable(source, str(tmp_path / 'out.wav'), separator,
                                    progress=True, **extra)
    bar, = bars
    assert bar.total == seconds and bar.shown[-1] == seconds
    assert all(len(repr(float(n)).split('.')[1]) == 1 for n in bar.shown), bar.shown
    assert bar.shown == sorted(bar.shown)


def test_python_takes_numpys_booleans_for_hard_mask(model_path):
    """np.bool_(True) had been refused as 'hard_mask=True: must be True or
    False', a line that contradicts itself."""
    separator = make_separate.load_separator(model_path, hard_mask=np.bool_(True), shifts=1,
                                             speeds=())
    assert separator.hard_mask is True


def test_python_refuses_a_short_channels_first_clip_and_rates_past_any_use(model_path):
    """(2, 1000), a stereo clip given channels first, had been read as 1000
    channels of 2 samples, and two samples came back; a rate of 10**400
    ended in OverflowError and one of 10**12 gave silence."""
    separator = make_separate.load_separator(model_path, shifts=1, speeds=())
    clip = np.stack([tone(1.0)[:1000], chirp(1.0)[:1000]])
    with pytest.raises(ValueError, match=r'reads as 1000 channels of 2 samples.*mixture\.T'):
        separator.separate(clip)
    assert separator.separate(clip.T)[0].shape == (1000,)
    for rate in (10 ** 400, 10 ** 12, float('inf')):
        with pytest.raises(ValueError, match='at most 768000 Hz'):
            separator.separate(tone(1.0), rate)
