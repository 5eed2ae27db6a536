"""make_separate.py on what libsndfile cannot read (decoding.py): the audio
of m4a, mp4, mkv... decoded by ffmpeg, exact where the codec is lossless,
one clear line where it cannot be decoded, no temporary file left behind."""
import os
import signal
import subprocess
import tempfile

import numpy as np
import psutil
import pytest
import soundfile as sf

import decoding
import make_separate
import util
from conftest import chirp, harmonic_stack, noise_bursts, tone, write
from test_errors import _interrupt_once_written, _start, leftovers


@pytest.fixture(scope='module')
def ffmpeg():
    executable = decoding.ffmpeg_executable()
    assert executable, 'no ffmpeg: requirements.txt installs imageio-ffmpeg'
    return executable


def encode(ffmpeg, source, target, *codec):
    """``source`` re-encoded by ffmpeg into ``target`` with the ``codec`` options."""
    os.makedirs(os.path.dirname(str(target)), exist_ok=True)
    subprocess.run([ffmpeg, '-v', 'error', '-y', '-i', str(source), *codec, str(target)],
                   check=True)
    return str(target)


def separate(*args):
    return make_separate.main(list(args))


def hidden_files(folder):
    return [name for name in os.listdir(str(folder)) if name.startswith('.')]


def stereo(seconds, sr):
    return np.stack([harmonic_stack(seconds, sr) + noise_bursts(seconds, sr, seed=1),
                     chirp(seconds, sr)], axis=1)


@pytest.mark.parametrize('container, codec', [('mkv', 'flac'), ('m4a', 'alac')])
def test_lossless_audio_in_a_container_separates_as_the_wav_does(
        container, codec, tmp_path, model_path, ffmpeg):
    wav = write(tmp_path / 'in.wav', stereo(2.3, 44100), 44100, 'PCM_16')
    packed = encode(ffmpeg, wav, tmp_path / 'in.{}'.format(container), '-c:a', codec)
    assert decoding.needs_decoding(packed) and not decoding.needs_decoding(wav)
    outputs = []
    for source in (wav, packed):
        out = str(tmp_path / 'out' / (os.path.basename(source) + '.wav'))
        assert separate('-i', source, '-o', out, '-m', model_path, '--sr',
                        '--keep-channels', '--shifts', '1', '--speeds', '1') == 0
        outputs.append(sf.read(out))
    (expected, rate), (got, packed_rate) = outputs
    assert rate == packed_rate == 44100 and got.shape == expected.shape == (101430, 2)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert hidden_files(tmp_path / 'out') == []


def test_the_audio_of_a_video_is_separated_at_its_decoded_length(tmp_path, model_path,
                                                                ffmpeg):
    wav = write(tmp_path / 'talk.wav', harmonic_stack(3.0, 48000), 48000, 'PCM_16')
    video = str(tmp_path / 'talk.mp4')
    subprocess.run([ffmpeg, '-v', 'error', '-y', '-f', 'lavfi', '-i',
                    'testsrc=duration=3:size=64x64:rate=10', '-i', wav, '-c:v', 'mpeg4',
                    '-c:a', 'aac', '-shortest', video], check=True)
    out, music = tmp_path / 'out' / 'talk.flac', tmp_path / 'out' / 'talk.music.flac'
    assert separate('-i', video, '-o', str(out), '--music-out', str(music),
                    '-m', model_path) == 0
    with decoding.readable(video, str(tmp_path)) as decoded:
        frames = util.audio_info(decoded).frames
    assert abs(frames - 3 * 48000) < 3 * 1024                  # AAC pads by whole frames
    expected = util.resampled_length(frames, 48000, 16000)
    assert sf.info(str(out)).frames == sf.info(str(music)).frames == expected
    assert hidden_files(tmp_path / 'out') == [] and hidden_files(tmp_path) == []


def test_a_folder_run_takes_containers_beside_wav(tmp_path, model_path, ffmpeg, capsys):
    source = tmp_path / 'mixdown'
    write(source / 'a.wav', tone(1.0))
    encode(ffmpeg, write(tmp_path / 'b.wav', chirp(1.5), subtype='PCM_16'),
           source / 'sub' / 'b.m4a', '-c:a', 'alac')
    out = tmp_path / 'separate'
    assert separate('-i', str(source), '-o', str(out), '-m', model_path) == 0
    assert 'separated 2 of 2 files' in capsys.readouterr().out
    assert sf.info(str(out / 'a.wav')).frames == 16000
    assert sf.info(str(out / 'sub' / 'b.wav')).frames == 24000
    status = separate('-i', str(source / 'a.wav'), '-o', str(tmp_path / 'speech.m4a'),
                      '-m', model_path)
    err = capsys.readouterr().err
    assert status == 1 and 'cannot write ".m4a" files' in err
    assert not os.path.exists(str(tmp_path / 'speech.m4a'))


def undecodable(tmp_path, ffmpeg):
    """``(file, what the error says)`` for inputs ffmpeg cannot give audio from."""
    silent_video = str(tmp_path / 'silent.mp4')
    subprocess.run([ffmpeg, '-v', 'error', '-y', '-f', 'lavfi', '-i',
                    'testsrc=duration=1:size=64x64:rate=10', '-c:v', 'mpeg4', silent_video],
                   check=True)
    junk = tmp_path / 'junk.mp4'
    junk.write_bytes(b'not a video at all')
    return [(silent_video, 'holds no audio stream'), (str(junk), 'ffmpeg cannot decode it')]


def test_undecodable_input_is_one_line_and_leaves_nothing(tmp_path, model_path, ffmpeg,
                                                          capsys):
    for path, problem in undecodable(tmp_path, ffmpeg):
        out = tmp_path / 'out' / 'speech.wav'
        assert separate('-i', path, '-o', str(out), '-m', model_path) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and path in err and problem in err, err
        assert not out.exists() and hidden_files(tmp_path / 'out') == []


def test_a_stream_cut_short_gives_what_is_there_with_a_warning(tmp_path, model_path, ffmpeg,
                                                               capsys):
    """As libsndfile reads the samples of a cut wav (test_errors.py)."""
    long_wav = write(tmp_path / 'long.wav', harmonic_stack(20.0, 44100), 44100, 'PCM_16')
    whole = encode(ffmpeg, long_wav, tmp_path / 'whole.m4a', '-c:a', 'aac',
                   '-movflags', '+faststart')
    cut = tmp_path / 'cut.m4a'                         # a download cut short
    cut.write_bytes(open(whole, 'rb').read()[:int(os.path.getsize(whole) * 0.8)])
    out = tmp_path / 'out' / 'speech.wav'
    assert separate('-i', str(cut), '-o', str(out), '-m', model_path, '--shifts', '1',
                    '--speeds', '1') == 0
    err = capsys.readouterr().err
    assert 'warning: {}: ffmpeg decoded it with errors'.format(cut) in err
    seconds = sf.info(str(out)).duration
    assert 12 < seconds < 17.5 and hidden_files(tmp_path / 'out') == []


def test_without_ffmpeg_the_error_says_how_to_get_it(tmp_path, model_path, ffmpeg,
                                                     monkeypatch, capsys):
    packed = encode(ffmpeg, write(tmp_path / 'in.wav', tone(1.0), subtype='PCM_16'),
                    tmp_path / 'in.m4a', '-c:a', 'alac')
    monkeypatch.setattr(decoding, 'ffmpeg_executable', lambda: None)
    assert separate('-i', packed, '-o', str(tmp_path / 'o.wav'), '-m', model_path) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'in.m4a' in err and 'imageio-ffmpeg' in err
    assert not os.path.exists(str(tmp_path / 'o.wav'))


def test_the_decoded_file_goes_when_separation_fails_and_errors_name_the_input(
        tmp_path, ffmpeg):
    packed = encode(ffmpeg, write(tmp_path / 'in.wav', tone(1.0), subtype='PCM_16'),
                    tmp_path / 'in.mka', '-c:a', 'flac')
    out = str(tmp_path / 'out' / 'speech.wav')
    os.makedirs(os.path.dirname(out))
    with pytest.raises(util.AudioError, match='^{}: went wrong$'.format(packed)):
        with decoding.readable(packed, os.path.dirname(out)) as decoded:
            assert decoded != packed and os.path.dirname(decoded) == os.path.dirname(out)
            assert util.audio_info(decoded).frames == 16000
            raise util.AudioError('{}: went wrong'.format(decoded))
    assert hidden_files(tmp_path / 'out') == []


def test_what_libsndfile_reads_is_not_decoded(tmp_path):
    opus = tmp_path / 'voice.opus'                     # Ogg Opus: libsndfile reads it
    sf.write(str(opus), tone(1.0, 48000), 48000, format='OGG', subtype='OPUS')
    assert not decoding.needs_decoding(str(opus))
    with decoding.readable(str(opus), str(tmp_path)) as path:
        assert path == str(opus)
    assert not decoding.needs_decoding(str(tmp_path / 'missing.m4a'))


@pytest.mark.parametrize('container, codec, rate, channels', [
    ('m4a', 'alac', 44100, 2), ('mkv', 'flac', 22050, 1), ('webm', 'libopus', 48000, 2)])
def test_decoded_size_is_what_the_decoded_wav_holds(container, codec, rate, channels,
                                                    tmp_path, ffmpeg):
    """ffmpeg's duration (to 10 ms), rate and layout give about the bytes
    of samples the decoded wav holds (Opus decodes at 48 kHz, its
    container a little longer than the samples); nothing for a file that
    is not audio."""
    audio = stereo(2.3, 44100) if channels == 2 else harmonic_stack(2.3, 44100)
    source = write(tmp_path / 'in.wav', audio, 44100)
    packed = encode(ffmpeg, source, tmp_path / 'in.{}'.format(container), '-c:a', codec,
                    '-ar', str(rate))
    decoded = tmp_path / 'decoded.wav'
    decoding.decode(packed, str(decoded))
    info = sf.info(str(decoded))
    assert (info.samplerate, info.channels) == (rate, channels)
    held = info.frames * channels * 4
    assert held * 0.99 <= decoding.decoded_size(ffmpeg, packed) <= held * 1.02
    (tmp_path / 'junk.m4a').write_text('not audio')
    assert decoding.decoded_size(ffmpeg, str(tmp_path / 'junk.m4a')) is None


def test_no_room_to_decode_is_one_line_before_ffmpeg_decodes(tmp_path, model_path, ffmpeg,
                                                             monkeypatch, capsys):
    """200 kB free and 2.3 s of 44.1 kHz stereo to decode (811 kB): one
    line naming the folder, the input and both sizes; nothing decoded,
    written or left behind."""
    source = write(tmp_path / 'in.wav', stereo(2.3, 44100), 44100)
    packed = encode(ffmpeg, source, tmp_path / 'in.m4a', '-c:a', 'alac')
    usage = decoding.shutil.disk_usage(str(tmp_path))
    monkeypatch.setattr(decoding.shutil, 'disk_usage',
                        lambda path: usage._replace(free=200000))
    out = tmp_path / 'out' / 'speech.wav'
    assert separate('-i', packed, '-o', str(out), '-m', model_path) == 1
    err = capsys.readouterr().err.strip()
    assert '\n' not in err and 'not enough disk space to decode ' + packed in err
    assert '811.4 kB' in err and '200.0 kB' in err
    assert not out.exists() and not leftovers(tmp_path) and not hidden_files(out.parent)


@pytest.mark.parametrize('room', [True, False])
def test_decoded_once_keeps_what_it_decoded_while_the_disk_has_room(tmp_path, ffmpeg,
                                                                  monkeypatch, room):
    """A file asked for three times is decoded once, the same samples each
    time; with no room to keep it, decoded each time; a wav never."""
    source = write(tmp_path / 'a.wav', harmonic_stack(1.5, 44100), 44100)
    packed = encode(ffmpeg, source, tmp_path / 'a.m4a', '-c:a', 'alac')
    if not room:
        monkeypatch.setattr(decoding.const, 'DECODED_KEEP_FREE_BYTES', 1 << 62)
    with decoding.DecodedOnce(str(tmp_path)) as decoded:
        loads = [decoded.load_audio(packed) for _ in range(2)] + [decoded.frames(packed)]
        wav = decoded.load_audio(source)
        assert decoded.decoded == (1 if room else 3)
        folder = decoded.folder
    np.testing.assert_array_equal(loads[0], loads[1])
    np.testing.assert_allclose(loads[0], wav, atol=1e-6)       # lossless: the wav's samples
    assert loads[2] == len(wav) == 24000
    assert not os.path.exists(folder)


def test_make_dataset_and_train_mix_read_containers_as_their_wav(speech_music_dirs, tmp_path,
                                                                 ffmpeg, monkeypatch):
    """A music library in m4a, speech in mkv: the same mixtures, npz and
    on-the-fly tracks as from the wav files (lossless codecs); make_dataset
    decodes each file once, though it pairs each with two others, and
    leaves no decoded file behind."""
    import make_dataset
    import train
    decoded, decode = [], decoding.decode
    monkeypatch.setattr(decoding, 'decode', lambda path, wav: (decoded.append(path),
                                                               decode(path, wav))[1])
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path / 'tmp'))   # $TMPDIR, read once
    (tmp_path / 'tmp').mkdir()
    music, speech = speech_music_dirs
    packed = {'music': tmp_path / 'packed' / 'music', 'speech': tmp_path / 'packed' / 'speech'}
    for folder, kind, container, codec in ((music, 'music', 'm4a', 'alac'),
                                           (speech, 'speech', 'mkv', 'flac')):
        for name in sorted(os.listdir(folder)):
            encode(ffmpeg, os.path.join(folder, name),
                   packed[kind] / name.replace('.wav', '.' + container), '-c:a', codec)
    outputs = []
    for music_folder, speech_folder, tag in ((music, speech, 'wav'),
                                             (packed['music'], packed['speech'], 'packed')):
        stft = str(tmp_path / tag / 'stft')
        assert make_dataset.main(['-m', str(music_folder), '-s', str(speech_folder),
                                  '-t', stft, '-o', str(tmp_path / tag / 'mixdown')]) == 0
        outputs.append({name: np.load(os.path.join(stft, name))['mix']
                        for name in sorted(os.listdir(stft))})
    assert list(outputs[0]) == list(outputs[1]) == ['s1_m1.npz', 's1_m2.npz', 's2_m1.npz', 's2_m2.npz']
    assert sorted(os.path.basename(p) for p in decoded) == ['m1.m4a', 'm2.m4a', 's1.mkv',
                                                            's2.mkv']
    assert os.listdir(str(tmp_path / 'tmp')) == []
    for name in outputs[0]:
        np.testing.assert_allclose(outputs[1][name], outputs[0][name], atol=1e-6)
    tracks, paths = train.mix_tracks(str(packed['speech']), str(packed['music']))
    expected, _ = train.mix_tracks(speech, music)
    assert [os.path.basename(p) for p in paths['music']] == ['m1.m4a', 'm2.m4a']
    for kind in ('speech', 'music'):
        for got, want in zip(tracks[kind], expected[kind]):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize('signum, status', [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_while_decoding_leaves_nothing(signum, status, tmp_path, model_path,
                                                   ffmpeg):
    """Ctrl-C or SIGTERM once the decoded file exists (ffmpeg still writing
    it, or the separation reading it): no output, no temporary file, no
    ffmpeg left running."""
    packed = str(tmp_path / 'long.mkv')
    subprocess.run([ffmpeg, '-v', 'error', '-y', '-f', 'lavfi', '-i',
                    'sine=frequency=440:duration=1800:sample_rate=48000', '-ac', '2',
                    '-c:a', 'flac', packed], check=True)
    out = tmp_path / 'out'
    os.makedirs(str(out))
    proc = _start(['-i', packed, '-o', out / 'speech.wav', '-m', model_path], tmp_path)
    children = []
    err = _interrupt_once_written(
        proc, str(out / '.long.mkv.decoded.wav.{}.partial'.format(proc.pid)), signum,
        on_ready=lambda: children.extend(c.pid for c in psutil.Process(proc.pid).children()))
    assert proc.returncode == status, err
    assert 'Traceback' not in err, err
    assert os.listdir(str(out)) == [] and not leftovers(tmp_path)
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != 'zombie'
                   for pid in children)


def test_evaluate_scores_containers_as_their_wav(tmp_path, ffmpeg, capsys):
    """Mixtures in m4a (ALAC), references in mka and estimates in mkv (FLAC)
    score as the 24-bit wav files they hold."""
    import evaluate
    from test_evaluate import make_refs, read_csv
    plain, packed = tmp_path / 'plain', tmp_path / 'packed'
    names = make_refs(plain, seconds=1.5)
    os.makedirs(str(packed / 'est'))
    (packed / 'manifest.csv').write_text((plain / 'manifest.csv').read_text())
    for name in names:
        mixture, _ = sf.read(str(plain / (name + '.wav')), dtype='float32')
        write(plain / 'est' / (name + '.wav'), 0.5 * mixture, subtype='PCM_24')
        encode(ffmpeg, plain / 'est' / (name + '.wav'), packed / 'est' / (name + '.mkv'),
               '-c:a', 'flac')
        for suffix, container, codec in (('', 'm4a', 'alac'), ('.speech', 'mka', 'flac'),
                                         ('.music', 'mka', 'flac')):
            wav = plain / (name + suffix + '.wav')
            write(wav, sf.read(str(wav), dtype='float32')[0], subtype='PCM_24')  # lossless
            encode(ffmpeg, wav, packed / (name + suffix + '.' + container), '-c:a', codec)
    scores = []
    for folder in (plain, packed):
        csv_path = tmp_path / (folder.name + '.csv')
        status = evaluate.main(['-i', str(folder), '--est', str(folder / 'est'), '--quick',
                                '--csv', str(csv_path)])
        assert status == 0, capsys.readouterr().err
        scores.append({row['name']: float(row['si_sdri']) for row in read_csv(str(csv_path))[1]})
    assert sorted(scores[0]) == sorted(scores[1]) == names
    for name, value in scores[0].items():
        assert scores[1][name] == pytest.approx(value, abs=1e-4)


# --------------------------------------------------------------------------
# Files of libsndfile's types that it cannot read: ffmpeg tries them

def zero_length_wav(source, target):
    """``source`` (a wav) with its RIFF and data sizes zeroed, as a recorder
    leaves a file it was killed writing."""
    data = bytearray(open(str(source), 'rb').read())
    at = data.find(b'data')
    data[4:8] = data[at + 4:at + 8] = (0).to_bytes(4, 'little')
    target.write_bytes(bytes(data))
    return str(target)


def test_a_wav_whose_length_was_never_written_is_read_by_ffmpeg(tmp_path, model_path, ffmpeg):
    """libsndfile reads such a file as empty ("holds no samples"); ffmpeg
    reads to its end, as it reads the same bytes on stdin."""
    wav = write(tmp_path / 'in.wav', harmonic_stack(1.5), subtype='PCM_16')
    broken = zero_length_wav(wav, tmp_path / 'recorder.wav')
    assert sf.info(broken).frames == 0 and decoding.needs_decoding(broken)
    assert separate('-i', broken, '-o', str(tmp_path / 'a.wav'), '-m', model_path,
                    '--shifts', '1', '--speeds', '1') == 0
    assert separate('-i', wav, '-o', str(tmp_path / 'b.wav'), '-m', model_path,
                    '--shifts', '1', '--speeds', '1') == 0
    assert np.array_equal(sf.read(str(tmp_path / 'a.wav'))[0], sf.read(str(tmp_path / 'b.wav'))[0])


def test_an_m4a_named_wav_is_read_by_ffmpeg_and_junk_keeps_its_reason(tmp_path, model_path,
                                                                      capsys, ffmpeg):
    wav = write(tmp_path / 'in.wav', harmonic_stack(1.5), subtype='PCM_16')
    renamed = encode(ffmpeg, wav, tmp_path / 'podcast.m4a', '-c:a', 'aac')
    os.replace(renamed, str(tmp_path / 'podcast.wav'))
    assert separate('-i', str(tmp_path / 'podcast.wav'), '-o', str(tmp_path / 'out.wav'),
                    '-m', model_path, '--shifts', '1', '--speeds', '1') == 0
    assert sf.info(str(tmp_path / 'out.wav')).frames == 24000
    capsys.readouterr()
    (tmp_path / 'junk.wav').write_bytes(b'not audio at all')
    assert separate('-i', str(tmp_path / 'junk.wav'), '-o', str(tmp_path / 'j.wav'),
                    '-m', model_path) == 1
    assert capsys.readouterr().err == 'make_separate.py: error: {}: not a readable audio file ' \
        '(Format not recognised.)\n'.format(tmp_path / 'junk.wav')
    assert not hidden_files(tmp_path)


def test_without_ffmpeg_such_files_keep_libsndfiles_reading(tmp_path, monkeypatch):
    wav = write(tmp_path / 'in.wav', harmonic_stack(0.5), subtype='PCM_16')
    broken = zero_length_wav(wav, tmp_path / 'recorder.wav')
    (tmp_path / 'junk.wav').write_bytes(b'not audio at all')
    monkeypatch.setattr(decoding, 'ffmpeg_executable', lambda: None)
    assert not decoding.needs_decoding(broken)
    assert not decoding.needs_decoding(str(tmp_path / 'junk.wav'))


def test_an_empty_wav_with_tags_after_its_data_stays_empty(tmp_path, ffmpeg, model_path, capsys):
    """ffmpeg reads a data chunk of length 0 to the end of the file: the
    tags after it (a LIST chunk of 5 kB) became 0.2 s of loud noise."""
    header = bytearray(open(write(tmp_path / 'e.wav', np.zeros(0, np.float32),
                                  subtype='PCM_16'), 'rb').read())
    text = b'comment ' * 680
    tagged = header + b'LIST' + len(text).to_bytes(4, 'little') + text
    tagged[4:8] = (len(tagged) - 8).to_bytes(4, 'little')
    (tmp_path / 'tagged.wav').write_bytes(bytes(tagged))
    assert not util.unwritten_wav_length(str(tmp_path / 'tagged.wav'))
    assert not decoding.needs_decoding(str(tmp_path / 'tagged.wav'))
    assert separate('-i', str(tmp_path / 'tagged.wav'), '-o', str(tmp_path / 'o.wav'),
                    '-m', model_path) == 1
    assert 'holds no samples' in capsys.readouterr().err


def test_a_decoded_input_keeps_the_16_bit_default_of_flac(tmp_path, model_path, ffmpeg):
    """ffmpeg decodes to float samples, which say nothing of the original's
    depth: an AAC soundtrack written to FLAC stays 16-bit, where a float
    wav read by libsndfile becomes 24-bit (test_separate)."""
    packed = encode(ffmpeg, write(tmp_path / 'in.wav', tone(1.0), subtype='FLOAT'),
                    tmp_path / 'in.m4a', '-c:a', 'aac')
    assert separate('-i', packed, '-o', str(tmp_path / 'speech.flac'), '-m', model_path) == 0
    assert sf.info(str(tmp_path / 'speech.flac')).subtype == 'PCM_16'


def test_a_piped_wav_past_4_gib_goes_to_ffmpeg(tmp_path, ffmpeg):
    """ffmpeg writing a wav to a pipe leaves its sizes at 0xFFFFFFFF;
    libsndfile then reads only the first 4 GiB, so a long film's soundtrack
    came out short without a word. (A sparse file: no disk is used.)"""
    wav = write(tmp_path / 'in.wav', tone(0.5), subtype='PCM_16')
    piped = tmp_path / 'piped.wav'
    with open(str(piped), 'wb') as handle:
        subprocess.run([ffmpeg, '-v', 'error', '-i', wav, '-f', 'wav', '-'], stdout=handle,
                       check=True)
    head = piped.read_bytes()
    assert head.find(b'data') > 0 and head[head.find(b'data') + 4:][:4] == b'\xff' * 4
    assert not decoding.needs_decoding(str(piped))        # short: libsndfile reads it whole
    os.truncate(str(piped), 2 ** 32 + 2 ** 20)
    assert util.overflowed_wav_length(str(piped))
    assert decoding.needs_decoding(str(piped))
    regular = tmp_path / 'regular.wav'                      # a true 4 GiB size field: libsndfile's
    regular.write_bytes(open(wav, 'rb').read())
    os.truncate(str(regular), 2 ** 32 + 2 ** 20)
    assert not util.overflowed_wav_length(str(regular))


def test_a_24_bit_flac_from_a_pipe_keeps_24_bits_through_ffmpeg(tmp_path, ffmpeg, model_path):
    """A FLAC of no stated length goes to ffmpeg; its depth is read from its
    own header, not from ffmpeg's float samples (it had come out 16-bit
    where the same FLAC with its length stated was 24-bit)."""
    wav = write(tmp_path / 'in.wav', chirp(1.0), subtype='PCM_24')
    piped = tmp_path / 'piped.flac'
    with open(str(piped), 'wb') as handle:
        subprocess.run([ffmpeg, '-v', 'error', '-i', wav, '-c:a', 'flac', '-sample_fmt', 's32',
                        '-f', 'flac', '-'], stdout=handle, check=True)
    assert decoding.needs_decoding(str(piped)) and util.header_subtype(str(piped)) == 'PCM_24'
    assert separate('-i', str(piped), '-o', str(tmp_path / 'o.flac'), '-m', model_path,
                    '--shifts', '1', '--speeds', '1') == 0
    assert sf.info(str(tmp_path / 'o.flac')).subtype == 'PCM_24'


def test_a_flac_or_mp3_from_a_pipe_is_read_whole_without_a_warning(tmp_path, ffmpeg, capsys,
                                                                   model_path):
    """A FLAC written to a pipe states no length: libsndfile took its end for
    damage after a false 'not enough disk space' for 2**63 samples. An MP3
    from a pipe has no Xing header, so its length is libsndfile's guess from
    the bitrate, and a whole file was called cut short."""
    wav = write(tmp_path / 'in.wav', chirp(2.0), subtype='PCM_16')
    for kind in ('flac', 'mp3'):
        piped = tmp_path / ('piped.' + kind)
        with open(str(piped), 'wb') as handle:
            subprocess.run([ffmpeg, '-v', 'error', '-i', wav, '-f', kind, '-'], stdout=handle,
                           check=True)
        capsys.readouterr()
        out = tmp_path / (kind + '.wav')
        assert separate('-i', str(piped), '-o', str(out), '-m', model_path,
                        '--shifts', '1', '--speeds', '1') == 0
        assert 'warning' not in capsys.readouterr().err
        frames = sf.info(str(out)).frames
        assert frames == 32000 if kind == 'flac' else abs(frames - 32000) < 2000
    assert decoding.needs_decoding(str(tmp_path / 'piped.flac'))
