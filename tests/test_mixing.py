"""mixing.py and train.py --mix: examples drawn afresh, repeatable, per rank."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import const
import mixing
import train
from conftest import ROOT, chirp, harmonic_stack, make_npz, noise_bursts, tone, write

LENGTH = 64                     # frames per patch in these tests
N_SAMPLES = (LENGTH - 1) * const.H


def pool(**settings):
    speech = [harmonic_stack(3.0, f0=140), chirp(1.0), tone(2.5, freq=330)]
    music = [noise_bursts(4.0, seed=1), noise_bursts(0.5, seed=2)]
    return mixing.MixingDataset(speech, music, LENGTH, epoch_size=8, seed=3,
                                settings=mixing.MixSettings(**settings))


def test_examples_are_patches_of_the_network_shape():
    mix, speech = pool().get_example(0)
    assert mix.shape == speech.shape == (1, const.NET_BINS, LENGTH)
    assert mix.dtype == speech.dtype == np.float32
    assert np.all(np.isfinite(mix)) and 0.0 < mix.max() <= 1.0


def test_an_example_depends_only_on_seed_stream_and_index():
    a, b = pool(), pool()
    for i in (0, 5, 10 ** 9):
        np.testing.assert_array_equal(a.get_example(i)[0], b.get_example(i)[0])
    assert not np.array_equal(a.get_example(1)[0], a.get_example(2)[0])
    other_rank = pool()
    other_rank.stream = 1
    assert not np.array_equal(a.get_example(1)[0], other_rank.get_example(1)[0])


def test_speech_alone_is_its_own_target_and_music_alone_has_none():
    speech_only = pool(speech_alone=1.0, music_alone=0.0)
    for i in range(4):
        mix, target = speech_only.get_example(i)
        np.testing.assert_allclose(target, mix, rtol=1e-5, atol=1e-7)
    music_only = pool(speech_alone=0.0, music_alone=1.0)
    for i in range(4):
        mix, target = music_only.get_example(i)
        assert not np.any(target) and np.any(mix)


def test_drawn_snr_sets_the_speech_to_music_power():
    dataset = pool(snr_db=(6.0, 6.0), speed=(1.0, 1.0), speech_alone=0.0, music_alone=0.0,
                   two_music=0.0)
    for i in range(6):
        speech, music = dataset.draw_sources(np.random.default_rng(i))
        if mixing.power(speech) and mixing.power(music):
            ratio = 10 * np.log10(mixing.power(speech) / mixing.power(music))
            assert ratio == pytest.approx(6.0, abs=0.01)
        assert len(speech) == len(music) == N_SAMPLES


def test_short_tracks_land_inside_silence():
    crop = mixing.TrackPool([np.ones(100, np.float32)]).crop(np.random.default_rng(0), 1000)
    assert crop.sum() == 100 and len(crop) == 1000


def test_short_music_is_repeated_from_a_random_point_of_the_loop():
    loop = np.arange(1, 101, dtype=np.float32)           # 100 samples, no zero
    pool = mixing.TrackPool([loop], repeat=True)
    starts = set()
    for seed in range(8):
        crop = pool.crop(np.random.default_rng(seed), 1000)
        assert len(crop) == 1000 and np.all(crop > 0)      # no silence anywhere
        first = int(crop[0]) - 1
        np.testing.assert_array_equal(crop, loop[(first + np.arange(1000)) % 100])
        starts.add(first)
    assert len(starts) > 1
    long_track = np.arange(2000, dtype=np.float32)
    crop = mixing.TrackPool([long_track], repeat=True).crop(np.random.default_rng(0), 1000)
    assert np.all(np.diff(crop) == 1)                      # a plain excerpt, not repeated


@pytest.mark.parametrize('short_music, silent', [('repeat', False), ('silence', True)])
def test_mixing_dataset_repeats_short_music_unless_told(short_music, silent):
    music = [np.random.default_rng(1).standard_normal(N_SAMPLES // 4).astype(np.float32)]
    speech = [np.random.default_rng(2).standard_normal(N_SAMPLES).astype(np.float32)]
    settings = mixing.MixSettings(speech_alone=0.0, music_alone=1.0, two_music=0.0,
                                  short_music=short_music)
    dataset = mixing.MixingDataset(speech, music, LENGTH, 4, settings=settings)
    _, crop = dataset.draw_sources(np.random.default_rng(0))
    assert (np.count_nonzero(crop) < N_SAMPLES // 2) == silent


@pytest.mark.parametrize('path, source', [
    ('music_wav/m012-wesnoth__suspense__116s.flac', 'wesnoth'),
    ('ext/music/fof-sectoid__Escape_from_chaosland__61s.flac', 'fof-sectoid'),
    ('music_wav/blues.00001.wav', 'blues.00001'),
    ('C:\\music\\m001-wesnoth__battle.flac', 'wesnoth'),      # a manifest from Windows
    ('/x/__anon.flac', '__anon'), ('m12-.flac', 'm12-')])   # nothing before __: own source
def test_source_name_is_the_file_name_up_to_the_double_underscore(path, source):
    assert mixing.source_name(path) == source


def test_balanced_pool_draws_every_source_equally_often_whatever_its_length():
    # one source of five long tracks, one of a single short loop
    tracks = [np.full(10 * N_SAMPLES, k, np.float32) for k in range(1, 6)]
    tracks.append(np.full(N_SAMPLES // 10, 9, np.float32))
    sources = ['long'] * 5 + ['loop']
    rng = np.random.default_rng(0)
    plain = mixing.TrackPool(tracks, repeat=True)
    balanced = mixing.TrackPool(tracks, repeat=True, sources=sources)
    loop_share = {name: np.mean([pool.crop(rng, 100)[0] == 9 for _ in range(2000)])
                  for name, pool in (('plain', plain), ('balanced', balanced))}
    assert loop_share['plain'] < 0.01
    assert loop_share['balanced'] == pytest.approx(0.5, abs=0.05)
    assert balanced.weights.sum() == pytest.approx(1.0)


def test_balance_speech_draws_a_short_speech_track_as_often_as_a_long_one():
    # one speaker reads for a minute, another says a word: a 5 % share by length
    speech = [tone(60.0, freq=250.0), tone(3.0, freq=2000.0)]
    music = [noise_bursts(4.0, seed=1)]

    def short_share(balance):
        data = mixing.MixingDataset(speech, music, LENGTH, epoch_size=8, seed=4,
                                    settings=mixing.MixSettings(speech_alone=1.0,
                                                                balance_speech=balance))
        rng = np.random.default_rng(0)
        spectra = [np.abs(np.fft.rfft(data.draw_sources(rng)[0])) for _ in range(400)]
        # above 500 Hz (a sixteenth of the band): the short track's tone
        high = [s[len(s) // 16:].sum() > s[:len(s) // 16].sum() for s in spectra]
        return np.mean(high)

    assert short_share(False) < 0.12
    assert short_share(True) == pytest.approx(0.5, abs=0.08)


def test_music_speed_shifts_the_music_pitch_and_none_drawn_by_default():
    music = [tone(8.0, freq=500.0)]
    speech = [harmonic_stack(3.0)]
    alone = dict(speech_alone=0.0, music_alone=1.0, two_music=0.0)
    peaks = {}
    for speed in (1.0, 1.5):
        dataset = mixing.MixingDataset(speech, music, LENGTH, 4, settings=mixing.MixSettings(
            music_speed=(speed, speed), **alone))
        _, crop = dataset.draw_sources(np.random.default_rng(0))
        assert len(crop) == N_SAMPLES
        peaks[speed] = np.argmax(np.abs(np.fft.rfft(crop))) * const.SR / N_SAMPLES
    assert peaks[1.0] == pytest.approx(500.0, abs=2.0)
    assert peaks[1.5] == pytest.approx(750.0, abs=2.0)


def test_noise_music_adds_a_loop_within_ten_db_of_the_music_and_none_by_default():
    settings = dict(speech_alone=0.0, music_alone=1.0, two_music=0.0)
    crops = {}
    for share in (0.0, 1.0):
        dataset = pool(noise_music=share, **settings)
        crops[share] = [dataset.draw_sources(np.random.default_rng(seed))[1]
                        for seed in range(6)]
    default = pool(**settings)
    for seed, (plain, noisy) in enumerate(zip(crops[0.0], crops[1.0])):
        assert np.array_equal(plain, default.draw_sources(np.random.default_rng(seed))[1])
        loop = noisy - plain            # the crop is drawn first, then the loop added
        ratio = 10 * np.log10(mixing.power(loop) / mixing.power(plain))
        assert const.MIX_NOISE_LEVEL_DB[0] - 0.01 <= ratio <= const.MIX_NOISE_LEVEL_DB[1] + 0.01


def test_colour_changes_speech_and_music_crops_and_none_by_default():
    settings = dict(speech_alone=0.0, music_alone=0.0, two_music=0.0, snr_db=(0.0, 0.0))
    default = pool(**settings)
    plain, coloured = pool(colour=0.0, **settings), pool(colour=1.0, **settings)
    for seed in range(6):
        base = default.draw_sources(np.random.default_rng(seed))
        same = plain.draw_sources(np.random.default_rng(seed))
        new = coloured.draw_sources(np.random.default_rng(seed))
        for source in range(2):
            assert np.array_equal(base[source], same[source])
            assert new[source].shape == base[source].shape
            assert not np.allclose(new[source], base[source], atol=1e-3)
        # the speech-to-music ratio is set after colouring, so it holds
        ratio = 10 * np.log10(mixing.power(new[0]) / mixing.power(new[1]))
        assert abs(ratio) < 0.01


def test_colour_mix_colours_speech_and_music_alike_and_keeps_their_ratio():
    settings = dict(speech_alone=0.0, music_alone=0.0, two_music=0.0, snr_db=(3.0, 3.0))
    plain, whole = pool(**settings), pool(colour_mix=1.0, **settings)
    for seed in range(6):
        base = plain.draw_sources(np.random.default_rng(seed))
        speech, music = whole.draw_sources(np.random.default_rng(seed))
        assert not np.allclose(speech, base[0], atol=1e-3)
        ratio = 10 * np.log10(mixing.power(speech) / mixing.power(music))
        assert abs(ratio - 3.0) < 0.01
        # one filter for both: the per-bin gains of speech and music agree where
        # both have energy (the colouring comes before the level is set)
        gains = []
        for new, old in ((speech, base[0]), (music, base[1])):
            spectrum, reference = (np.abs(np.fft.rfft(x, 1 << 17)) for x in (new, old))
            gains.append((spectrum, reference))
        (s_new, s_old), (m_new, m_old) = gains
        strong = (s_old > s_old.max() * 1e-2) & (m_old > m_old.max() * 1e-2)
        assert strong.sum() > 100
        ratio_bins = (s_new[strong] / s_old[strong]) / (m_new[strong] / m_old[strong])
        assert np.std(np.log(ratio_bins)) < 0.3


def test_reverb_puts_the_speech_in_a_room_and_leaves_the_music_and_the_ratio():
    settings = dict(speech_alone=0.0, music_alone=0.0, two_music=0.0, snr_db=(2.0, 2.0),
                    speed=(1.0, 1.0))
    dry, default = pool(reverb=0.0, **settings), pool(**settings)
    room = pool(reverb=1.0, **settings)
    for seed in range(6):
        base = default.draw_sources(np.random.default_rng(seed))
        for source, same in zip(base, dry.draw_sources(np.random.default_rng(seed))):
            assert np.array_equal(source, same)         # no draw at 0: runs repeat
        speech, music = room.draw_sources(np.random.default_rng(seed))
        assert speech.shape == music.shape == (N_SAMPLES,)
        ratio = 10 * np.log10(mixing.power(speech) / mixing.power(music))
        assert abs(ratio - 2.0) < 0.01
        # the same crop, heard in a room, is another waveform
        assert not np.allclose(speech / np.std(speech), base[0] / np.std(base[0]), atol=0.1)


def test_a_reverberant_crop_carries_the_reverberation_of_what_came_before():
    # a steady tone heard in a room is a steady tone from its first sample
    # on: the crop is drawn longer by the response, which then falls away
    dataset = mixing.MixingDataset([tone(8.0, freq=440)], [noise_bursts(8.0)], LENGTH,
                                   epoch_size=4, seed=1,
                                   settings=mixing.MixSettings(reverb=1.0, speech_alone=1.0,
                                                               music_alone=0.0))
    for seed in range(4):
        speech, _ = dataset.draw_sources(np.random.default_rng(seed))
        quarters = np.sqrt(np.mean(np.square(speech.reshape(4, -1)), axis=1))
        assert np.ptp(20 * np.log10(quarters)) < 1.0, quarters


def test_every_epoch_visits_new_indices():
    order = mixing.EpochOffsetOrder()
    first = order(np.arange(4), 0)
    second = order(first, 4)
    assert list(first) == [4, 5, 6, 7] and list(second) == [8, 9, 10, 11]


def audio_dirs(tmp_path):
    write(tmp_path / 'speech' / 'a.wav', harmonic_stack(3.0))
    write(tmp_path / 'speech' / 'b.flac', chirp(2.0), subtype='PCM_16')
    write(tmp_path / 'music' / 'm.wav', noise_bursts(3.0))
    return str(tmp_path / 'speech'), str(tmp_path / 'music')


def run_mix(tmp_path, out, *extra):
    speech, music = audio_dirs(tmp_path)
    val = make_npz(str(tmp_path / 'val'), count=2, frames=70)
    return train.main(['--mix', '-s', speech, '-m', music, '--val-dir', val, '-o', out,
                       '-b', '2', '-l', str(LENGTH), '--epoch-size', '4', '--init', 'none',
                       '--seed', '5'] + list(extra))


def mix_command(speech, music, out, *extra):
    """train.py --mix as a command line, for runs in a process of their own."""
    return [sys.executable, os.path.join(ROOT, 'train.py'), '--mix', '-s', speech, '-m', music,
            '-o', out, '-b', '2', '-l', str(LENGTH), '--init', 'none'] + list(extra)


def test_train_mix_runs_and_repeats_exactly_with_its_seed(tmp_path):
    outs = [str(tmp_path / 'r1'), str(tmp_path / 'r2')]
    for out in outs:
        assert run_mix(tmp_path, out, '-e', '2') == 0
    logs = []
    for out in outs:
        assert {'model_2', 'model_4', 'snapshot_iter_4', 'model_best'} <= set(os.listdir(out))
        with open(os.path.join(out, 'log')) as handle:
            logs.append([(e['iteration'], e['main/loss'], e['validation/main/loss'])
                         for e in json.load(handle)])
    assert logs[0] == logs[1] and [e[0] for e in logs[0]] == [2, 4]


def test_train_short_music_option_changes_the_examples(tmp_path):
    speech, _ = audio_dirs(tmp_path)
    write(tmp_path / 'loops' / 'loop.wav', noise_bursts(0.5, seed=4))
    losses = {}
    for mode in ('repeat', 'silence'):
        out = str(tmp_path / mode)
        assert train.main(['--mix', '-s', speech, '-m', str(tmp_path / 'loops'), '-o', out,
                           '-b', '2', '-l', str(LENGTH), '--epoch-size', '4', '--init', 'none',
                           '--seed', '5', '-e', '1',
                           '--short-music', mode]) == 0
        with open(os.path.join(out, 'log')) as handle:
            losses[mode] = json.load(handle)[-1]['main/loss']
    assert losses['repeat'] != losses['silence']


def test_train_balance_options_music_speed_noise_music_colour_and_reverb_change_the_examples(
        tmp_path):
    # each option, parsed as train.py parses it, reaches the drawn examples
    speech, music = audio_dirs(tmp_path)
    write(tmp_path / 'music' / 'other__loop.wav', tone(0.5, freq=700.0))
    drawn = {}
    for name, extra in (('plain', []), ('balanced', ['--balance-music']),
                        ('speakers', ['--balance-speech']),
                        ('faster', ['--music-speed', '1.2', '1.3']),
                        ('noise', ['--noise-music', '1']),
                        ('coloured', ['--colour', '1']),
                        ('coloured whole', ['--colour-mix', '1']),
                        ('reverberant', ['--reverb', '1'])):
        args = train.mixing_args(['-l', str(LENGTH)] + extra, speech, music, seed=5,
                                 epoch_size=16)
        dataset, _ = train.mixing_dataset(args)
        drawn[name] = np.concatenate([dataset.get_example(i)[0] for i in range(16)])
    names = list(drawn)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            assert not np.array_equal(drawn[first], drawn[second]), (first, second)


def test_train_mix_with_worker_processes(tmp_path):
    # --stop between epochs: the last snapshot is written after the workers stop
    assert run_mix(tmp_path, str(tmp_path / 'r'), '--stop', '3', '--loaders', '2') == 0
    assert {'model_3', 'snapshot_iter_3'} <= set(os.listdir(str(tmp_path / 'r')))


def test_sigterm_to_the_process_group_stops_training_with_workers(tmp_path):
    # timeout(1) and Ctrl-C signal every process of the group; a worker that
    # died holding the pool's queue lock used to hang the shutdown for ever
    speech, music = audio_dirs(tmp_path)
    out = tmp_path / 'r'
    proc = subprocess.Popen(
        mix_command(speech, music, str(out), '--epoch-size', '100000', '--loaders', '2'),
        cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)
    deadline = time.time() + 120
    while not (out / 'args.json').exists() and time.time() < deadline:
        time.sleep(0.5)
    time.sleep(3)                            # workers forked, batches flowing
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail('train.py --loaders 2 hung after SIGTERM')
    assert proc.returncode == 143
    assert b'Traceback' not in err and err.strip().endswith(b'train.py: terminated')


POOL_TERMINATED_BUSY = """
import sys, threading, time
import numpy as np
sys.path.insert(0, {root!r})
import train

class Slow:
    def __len__(self):
        return 1000

    def __getitem__(self, i):
        time.sleep(0.5)
        return np.zeros(4, np.float32), np.zeros(4, np.float32)

batches = train.QuietWorkersIterator(Slow(), 2, n_processes=2, shared_mem=64)
next(batches)
threading.Thread(target=next, args=(batches,), daemon=True).start()
time.sleep(0.2)                             # both workers drawing an example
batches._prefetch_loop._pool.terminate()    # what a second Ctrl-C got Chainer to do
print('ended')
"""


def test_a_worker_pool_terminated_while_its_workers_are_busy_ends(tmp_path):
    # a second Ctrl-C during the clean-up got Chainer to terminate the pool
    # while its workers, deaf to SIGTERM, were busy: it waited for ever on
    # them (in most runs of this script; the workers' timing decides)
    proc = subprocess.Popen([sys.executable, '-c', POOL_TERMINATED_BUSY.format(root=ROOT)],
                            cwd=str(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail('terminating the pool of busy workers hung')
    assert proc.returncode == 0, err
    assert out.strip() == b'ended'


SNAPSHOTS_DRAW_NOTHING_TWICE = """
import os, sys, time
import numpy as np
sys.path.insert(0, {root!r})
import chainer
import train

class Logged:
    def __len__(self):
        return 1000

    def __getitem__(self, i):
        fd = os.open('drawn.txt', os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, b'%d\\n' % i)
        os.close(fd)
        return np.zeros(4, np.float32), np.zeros(4, np.float32)

batches = train.QuietWorkersIterator(Logged(), 2, n_processes=2, shared_mem=64,
                                     order_sampler=lambda order, position: order)
for _ in range(3):
    next(batches)
    time.sleep(0.3)                       # the workers draw the next batch ahead
    batches.serialize(chainer.serializers.DictionarySerializer())   # a snapshot
batches.finalize()
drawn = open('drawn.txt').read().split()
print(len(drawn), len(set(drawn)))
"""


def test_writing_a_snapshot_leaves_the_workers_batches_drawn_ahead(tmp_path):
    """Chainer's MultiprocessIterator.serialize resets its prefetch also to
    write: every snapshot (each epoch with -f 1) threw away the batches the
    --loaders workers had drawn ahead, and they drew them again."""
    proc = subprocess.run([sys.executable, '-c', SNAPSHOTS_DRAW_NOTHING_TWICE.format(root=ROOT)],
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    drawn, distinct = map(int, proc.stdout.split())
    assert drawn == distinct


@pytest.mark.parametrize('option', [
    ['--snr', '10', '-5'], ['--snr', '-5', '100'], ['--speed', '0.1', '1.0'],
    ['--music-speed', '1.1', '0.9'],
    ['--alone', '0.6', '0.6'], ['--two-music', '1.5'], ['--noise-music', '-0.1'],
    ['--colour', '1.5'], ['--colour-mix', '-1'], ['--reverb', '1.01'],
    ['--epoch-size', '0']])
def test_train_mix_refuses_settings_out_of_range_in_one_line(tmp_path, capsys, option):
    assert run_mix(tmp_path, str(tmp_path / 'r'), '--stop', '1', *option) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and option[0] in err[0]
    assert not os.path.exists(str(tmp_path / 'r' / 'model_1'))


def test_train_mix_names_a_missing_folder(tmp_path, capsys):
    status = train.main(['--mix', '-s', str(tmp_path / 'nowhere'), '-m', str(tmp_path),
                         '-o', str(tmp_path / 'r'), '--stop', '1'])
    assert status == 1
    assert 'nowhere' in capsys.readouterr().err


# --------------------------------------------------------------------------
# train.py --mix: what it refuses before loading any audio

def refused(capsys, argv, *words):
    """``train.main(argv)`` ends in one error line holding ``words``."""
    assert train.main([str(a) for a in argv]) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('train.py: error: '), err
    for word in words:
        assert word in err, err
    return err


@pytest.mark.parametrize('extra, words', [
    (['--loaders', '100000000000000000000'], ['--loaders', 'must be from 0 to 64']),
    (['--loaders', '65'], ['--loaders 65']),
    (['--epoch-size', '1000001'], ['--epoch-size']),
    (['-b', '100000000000000000000'], ['-b', 'from 1 to 4096']),
    (['-f', '0'], ['-f 0']), (['-f', '-2'], ['-f -2']),
    (['-t', 'npz'], ['-t: does not apply to --mix']),
    (['--val', '0.5'], ['--val: does not apply to --mix'])])
def test_mix_refuses_limits_and_options_of_the_other_route_before_loading(
        tmp_path, capsys, monkeypatch, extra, words):
    """A huge --loaders forked workers until memory ran out (and they
    outlived the run), a huge --epoch-size or -b ended in a traceback; -t
    and --val were ignored under --mix."""
    speech, music = audio_dirs(tmp_path)
    monkeypatch.setattr(mixing, 'load_tracks', lambda *a, **k: pytest.fail('loaded audio'))
    refused(capsys, ['--mix', '-s', speech, '-m', music, '-o', tmp_path / 'out',
                     '--init', 'none'] + extra, *words)
    assert not os.path.exists(str(tmp_path / 'out'))


@pytest.mark.parametrize('extra', [['--reverb', '0.5'], ['--snr', '-5', '5'], ['--loaders', '2'],
                                   ['--balance-music'], ['-s', 'elsewhere']])
def test_mix_options_without_mix_are_refused_not_ignored(tmp_path, capsys, extra):
    stft = make_npz(str(tmp_path / 'stft'))
    refused(capsys, ['-t', stft, '-o', tmp_path / 'out', '--init', 'none'] + extra,
            'applies to --mix only')


def test_audio_in_both_pools_is_refused(tmp_path, capsys, monkeypatch):
    """``-m music_speech`` holds ``speech_wav``: the speech would be music too."""
    speech, _ = audio_dirs(tmp_path)
    monkeypatch.setattr(mixing, 'load_tracks', lambda *a, **k: pytest.fail('loaded audio'))
    refused(capsys, ['--mix', '-s', speech, '-m', tmp_path, '-o', tmp_path / 'out',
                     '--init', 'none'],
            '2 files are in both the speech folder', 'give folders that do not hold each other')


@pytest.mark.parametrize('option', ['-r', '--init'])
def test_a_missing_snapshot_or_model_is_named_before_the_audio_loads(tmp_path, capsys,
                                                                     monkeypatch, option):
    speech, music = audio_dirs(tmp_path)
    monkeypatch.setattr(mixing, 'load_tracks', lambda *a, **k: pytest.fail('loaded audio'))
    refused(capsys, ['--mix', '-s', speech, '-m', music, '-o', tmp_path / 'out', option,
                     tmp_path / 'nothere'], option, 'nothere')


def test_a_file_given_as_a_folder_is_named_a_file(tmp_path, capsys):
    speech, music = audio_dirs(tmp_path)
    refused(capsys, ['--mix', '-s', os.path.join(speech, 'a.wav'), '-m', music, '-o',
                     tmp_path / 'out', '--init', 'none'], 'a.wav is a file')


def test_empty_and_nearly_silent_tracks_are_skipped_with_their_reason(tmp_path, capsys):
    """Dither at -90 dB of full scale was accepted as speech and, mixed at an
    SNR, made its noise the target."""
    folder = tmp_path / 'speech'
    write(folder / 'a.wav', harmonic_stack(1.0))
    write(folder / 'dither.wav', np.random.default_rng(0).choice([-1, 1], 16000) / 32768.0,
          subtype='PCM_16')
    write(folder / 'empty.wav', np.zeros(0, np.float32))
    write(folder / 'zero.wav', np.zeros(1600, np.float32))
    tracks, kept = mixing.load_tracks(util_find(folder), 'speech')
    assert [os.path.basename(p) for p in kept] == ['a.wav']
    lines = capsys.readouterr().err.splitlines()
    assert [line.rsplit('.wav: ', 1)[1] for line in lines] == [
        'nearly silent (peak -90 dB of full scale)', 'holds no samples', 'silent']
    mixing.load_tracks(util_find(folder), 'speech', warn=False)   # another MPI rank
    assert capsys.readouterr().err == ''


def util_find(folder):
    import util
    return util.find_audio(str(folder), const.READ_EXTENSIONS)
