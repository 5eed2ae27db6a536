"""train.py: a tiny real run writes what the seed wrote, and resumes."""
import json
import os
import time
import warnings
import zipfile

import numpy as np
import pytest

import equalising
import make_separate
import train
from conftest import ROOT, make_npz


def run(tmp_path, *extra):
    stft = make_npz(str(tmp_path / 'stft'))
    out = str(tmp_path / 'result')
    args = ['-t', stft, '-o', out, '-b', '2', '-l', '64', '--init', 'none'] + list(extra)
    return train.main(args), out


def test_two_iterations_write_models_snapshots_log_and_plot(tmp_path):
    # 2 training files of 140 frames, batch 2, 64-frame patches: 2 iterations an epoch
    status, out = run(tmp_path, '-e', '1')
    assert status == 0
    files = set(os.listdir(out))
    assert {'model_2', 'snapshot_iter_2', 'log', 'loss.png', 'args.json',
            'model_best'} <= files
    with open(os.path.join(out, 'log')) as handle:
        log = json.load(handle)
    assert [entry['iteration'] for entry in log] == [2]
    assert np.isfinite(log[0]['main/loss']) and np.isfinite(log[0]['validation/main/loss'])
    # stored, not deflated: compressing them cost seconds an epoch for 8 % of space
    for name in ('model_2', 'snapshot_iter_2', 'model_best'):
        with zipfile.ZipFile(os.path.join(out, name)) as archive:
            assert {entry.compress_type for entry in archive.infolist()} == {zipfile.ZIP_STORED}


def test_resume_continues_the_iteration_count(tmp_path, capsys):
    status, out = run(tmp_path, '--stop', '2')
    assert status == 0 and os.path.exists(os.path.join(out, 'snapshot_iter_2'))
    capsys.readouterr()
    status, out = run(tmp_path, '--stop', '3', '-r', os.path.join(out, 'snapshot_iter_2'))
    assert status == 0
    # run() also gives --init none, which -r leaves unused: said so
    assert 'warning: --init none is not used: -r' in capsys.readouterr().err
    assert os.path.exists(os.path.join(out, 'model_3'))
    assert not os.path.exists(os.path.join(out, 'model_1'))


def test_resume_writes_models_at_the_epochs_ends_only(tmp_path, capsys):
    """The snapshot must hold the model_N extension's trigger as it stands
    after the snapshot's iteration: a stale one wrote model_7 in the middle
    of the epoch after a resume from snapshot_iter_6 (2 iterations an
    epoch), as upstream's train.py did."""
    status, out = run(tmp_path, '--stop', '6')
    assert status == 0
    status, out = run(tmp_path, '--stop', '10', '-r', os.path.join(out, 'snapshot_iter_6'))
    assert status == 0
    assert sorted(n for n in os.listdir(out) if n.startswith('model_') and n[6:].isdigit()) == [
        'model_10', 'model_2', 'model_4', 'model_6', 'model_8']


def test_validation_split_is_by_whole_file_and_deterministic():
    paths = ['stft/file{:02d}.npz'.format(k) for k in range(20)]
    train_a, val_a = train.split_by_name(paths, 0.1)
    train_b, val_b = train.split_by_name(list(reversed(paths)), 0.1)
    assert sorted(val_a) == sorted(val_b) and len(val_a) == 2
    assert not set(train_a) & set(val_a) and len(train_a) + len(val_a) == 20


def test_a_small_split_holds_out_one_file_and_trains_on_one():
    assert [len(side) for side in train.split_by_name(['a.npz', 'b.npz'], 0.01)] == [1, 1]
    assert [len(side) for side in train.split_by_name(['a.npz', 'b.npz'], 1.0)] == [1, 1]
    assert train.split_by_name(['a.npz'], 0.5) == (['a.npz'], [])


def test_a_name_that_is_not_utf8_is_split_too():
    name = os.fsdecode(b'stft/caf\xe9.npz')
    assert len(train.split_by_name([name, 'stft/b.npz'], 0.5)[1]) == 1


def test_npz_files_in_subfolders_are_found_as_upstream_found_them(tmp_path, capsys):
    """Upstream's loader searched the stft folder's subfolders; a nested
    tree must not train on part of its data without a word."""
    stft = tmp_path / 'stft'
    make_npz(str(stft / 'b' / 'deeper'), count=1, seed=1)
    make_npz(str(stft / 'a'), count=2, seed=2)
    (stft / 'a' / '.item9.npz').write_bytes(b'hidden: not data')
    assert train.npz_files(str(stft)) == [str(stft / 'a' / 'item0.npz'),
                                          str(stft / 'a' / 'item1.npz'),
                                          str(stft / 'b' / 'deeper' / 'item0.npz')]
    out = str(tmp_path / 'result')
    assert train.main(['-t', str(stft), '-o', out, '-b', '2', '-l', '64', '--init', 'none',
                       '--stop', '1']) == 0
    assert '# data: 2 files, 4 patches/epoch; validation 1 file,' in capsys.readouterr().out


def test_items_shorter_than_a_patch_are_padded():
    item = (np.ones((512, 10), np.float32), np.ones((512, 10), np.float32))
    dataset = train.RandomPatchDataset([item], 64, 2)
    mix, speech = dataset.get_example(0)
    assert mix.shape == (1, 512, 64) and mix[0, :, :10].min() == 1 and mix[0, :, 10:].max() == 0


def test_cpu_runs_repeat_with_the_same_seed(tmp_path):
    run(tmp_path / 'a', '--stop', '2', '--seed', '5')
    run(tmp_path / 'b', '--stop', '2', '--seed', '5')
    with np.load(str(tmp_path / 'a' / 'result' / 'model_2')) as a, \
            np.load(str(tmp_path / 'b' / 'result' / 'model_2')) as b:
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_dropout_option_reaches_the_network(tmp_path):
    # same seed, same data: only the dropout ratio differs, and so do the weights
    run(tmp_path / 'a', '--stop', '2', '--seed', '5')
    run(tmp_path / 'b', '--stop', '2', '--seed', '5', '--dropout', '0')
    with np.load(str(tmp_path / 'a' / 'result' / 'model_2')) as a, \
            np.load(str(tmp_path / 'b' / 'result' / 'model_2')) as b:
        assert any(not np.array_equal(a[key], b[key]) for key in a.files)


def test_lr_end_ramps_the_learning_rate_down_over_the_run(tmp_path):
    # 3 epochs of 2 iterations: alpha falls from 1e-3 to 1e-4 over 6 iterations;
    # the log shows the rate of each epoch's last iteration (2, 4, 6)
    status, out = run(tmp_path, '-e', '3', '--lr', '0.001', '--lr-end', '0.0001')
    assert status == 0
    with open(os.path.join(out, 'log')) as handle:
        rates = [entry['lr'] for entry in json.load(handle)]
    np.testing.assert_allclose(rates, [0.00082, 0.00046, 0.0001], rtol=1e-6)


def test_without_lr_end_the_learning_rate_stays(tmp_path):
    status, out = run(tmp_path, '-e', '2', '--lr', '0.0005')
    with open(os.path.join(out, 'log')) as handle:
        assert [entry['lr'] for entry in json.load(handle)] == [0.0005, 0.0005]


def test_target_vocal_psa_trains_on_the_phase_sensitive_array(tmp_path):
    stft = make_npz(str(tmp_path / 'stft'))
    for name in os.listdir(stft):
        path = os.path.join(stft, name)
        with np.load(path) as data:
            arrays = dict(data)
        arrays['vocal_psa'] = arrays['vocal'] * 0.25
        np.savez(path, **arrays)
    (mix, speech), = train.load_items([path], 'vocal_psa')
    np.testing.assert_array_equal(speech, arrays['vocal_psa'][1:])
    np.testing.assert_array_equal(mix, arrays['mix'][1:])
    out = str(tmp_path / 'result')
    status = train.main(['-t', stft, '-o', out, '-b', '2', '-l', '64', '--init', 'none',
                         '--stop', '1', '--target', 'vocal_psa'])
    assert status == 0 and os.path.exists(os.path.join(out, 'model_1'))
    with open(os.path.join(out, 'args.json')) as handle:
        assert json.load(handle)['target'] == 'vocal_psa'


class _Clock:
    """A stand-in trainer: ``updater.iteration`` and ``elapsed_time``."""

    def __init__(self, iteration, elapsed):
        self.updater = type('Updater', (), {'iteration': iteration})()
        self.elapsed_time = elapsed


def test_run_progress_is_the_further_of_iterations_and_time():
    progress = train.RunProgress(10, seconds=100.0)
    assert progress(_Clock(5, 20.0)) == 0.5
    assert progress(_Clock(6, 90.0), last=1) == 0.9     # the time read now
    assert progress(_Clock(7, 95.0)) == 0.9              # the time read at the one before
    assert progress(_Clock(2, 500.0)) == 1.0
    assert train.RunProgress(10)(_Clock(5, 1e9)) == 0.5       # no time limit
    assert train.ProgressStop(progress)(_Clock(3, 100.0))


def test_run_progress_reads_the_time_once_an_iteration():
    """The extensions' triggers and the stop trigger ask at different moments
    of one iteration; they must agree whether it is the last. By time, the
    step begun once the time is up is the last (its rate set before it)."""
    progress = train.RunProgress(10, seconds=100.0)
    assert progress(_Clock(4, 99.9)) == pytest.approx(0.999)
    assert progress(_Clock(4, 100.1), last=1) == pytest.approx(0.999)   # one time an iteration
    assert progress(_Clock(5, 100.1)) == pytest.approx(0.999)
    assert progress(_Clock(5, 100.2), last=1) == 1.0
    assert progress(_Clock(6, 100.3)) == 1.0


def test_stop_seconds_without_reaching_it_keeps_the_iteration_schedule(tmp_path):
    # as test_lr_end_ramps_...: the same rates when time is not the limit
    status, out = run(tmp_path, '-e', '3', '--lr', '0.001', '--lr-end', '0.0001',
                      '--stop-seconds', '100000')
    assert status == 0 and os.path.exists(os.path.join(out, 'model_6'))
    with open(os.path.join(out, 'log')) as handle:
        rates = [entry['lr'] for entry in json.load(handle)]
    np.testing.assert_allclose(rates, [0.00082, 0.00046, 0.0001], rtol=1e-6)


def test_stop_seconds_ends_the_run_on_a_saved_resumable_model(tmp_path):
    status, out = run(tmp_path, '--stop', '100000', '--stop-seconds', '2',
                      '--lr', '0.001', '--lr-end', '0.0001')
    assert status == 0
    models = [int(name.split('_')[1]) for name in os.listdir(out)
              if name.startswith('model_') and name != 'model_best']
    last = max(models)
    assert 0 < last < 100000
    assert os.path.exists(os.path.join(out, 'snapshot_iter_{}'.format(last)))
    with open(os.path.join(out, 'log')) as handle:
        log = json.load(handle)
    rates = [entry['lr'] for entry in log]
    # the rate falls by time: well below what 2 of 100 000 iterations would give
    assert rates[0] < 0.00099 and rates == sorted(rates, reverse=True)
    assert log[-1]['iteration'] == last          # the last iteration logged, mid-epoch too


def test_a_run_stopped_by_time_takes_its_last_step_at_lr_end(tmp_path):
    """The ramp sets each step's rate after the step before; it had reached
    --lr-end only after the step that passed --stop-seconds, the last, so the
    run ended one step short of it."""
    status, out = run(tmp_path, '--stop', '100000', '--stop-seconds', '1',
                      '--lr', '0.001', '--lr-end', '0.0001')
    assert status == 0
    with open(os.path.join(out, 'log')) as handle:
        log = json.load(handle)
    assert 1 < log[-1]['iteration'] < 100000
    assert log[-1]['lr'] == pytest.approx(0.0001, rel=1e-9, abs=0)


@pytest.mark.parametrize('extra', [['--stop-seconds', '-1'], ['--stop-seconds', 'nan'],
                                   ['--stop-seconds', '5', '--communicator', 'naive']])
def test_stop_seconds_refuses_bad_values_in_one_line(tmp_path, capsys, extra):
    status, out = run(tmp_path, '--stop', '1', *extra)
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(err) == 1 and '--stop-seconds' in err[0]
    assert not os.path.exists(os.path.join(out, 'model_1'))


def test_input_power_is_saved_with_the_models_and_resumed(tmp_path):
    import network
    status, out = run(tmp_path, '--stop', '2', '--input-power', '0.5')
    assert status == 0
    assert network.load_unet(os.path.join(out, 'model_2')).input_power == 0.5
    status, out = run(tmp_path, '--stop', '3', '-r', os.path.join(out, 'snapshot_iter_2'))
    assert status == 0
    assert network.load_unet(os.path.join(out, 'model_3')).input_power == 0.5


def test_init_keeps_its_input_power_unless_told(tmp_path):
    import network
    _, first = run(tmp_path / 'a', '--stop', '2', '--input-power', '0.5')
    stft = make_npz(str(tmp_path / 'stft'))
    for extra, expected in (([], 0.5), (['--input-power', '1'], 1.0)):
        out = str(tmp_path / 'b{}'.format(len(extra)))
        assert train.main(['-t', stft, '-o', out, '-b', '2', '-l', '64', '--stop', '1',
                           '--init', os.path.join(first, 'model_2')] + extra) == 0
        assert network.load_unet(os.path.join(out, 'model_1')).input_power == expected


@pytest.mark.parametrize('extra', [['--input-power', '0'], ['--input-power', '1.5'],
                                   ['--input-power', 'nan'],
                                   ['--input-power', '0.5', '-r', 'snapshot_iter_2']])
def test_impossible_input_powers_are_refused_in_one_line(tmp_path, capsys, extra):
    status, out = run(tmp_path, '--stop', '2', *extra)
    assert status != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and '--input-power' in err[0]
    assert not os.path.exists(out)


def test_feed_separation_trains_on_what_separation_shows_the_network(tmp_path):
    # same seed, same data: only what the network sees differs, and so do the weights
    run(tmp_path / 'a', '--stop', '2', '--seed', '5')
    status, out = run(tmp_path / 'b', '--stop', '2', '--seed', '5', '--feed', 'separation')
    assert status == 0
    with np.load(str(tmp_path / 'a' / 'result' / 'model_2')) as a, \
            np.load(os.path.join(out, 'model_2')) as b:
        assert sorted(a.files) == sorted(b.files)       # the model files stay upstream's
        assert any(not np.array_equal(a[key], b[key]) for key in a.files)
    with open(os.path.join(out, 'args.json')) as handle:
        assert json.load(handle)['feed'] == 'separation'


def test_feed_separation_is_make_separates_equalising_then_levelling():
    assert train.network_feed('drawn') is None
    patches = np.random.default_rng(2).random((2, 1, 512, 64), dtype=np.float32)
    patches[:, :, :32] *= 1e-2                      # lows cut: the equaliser raises them
    expected = make_separate.levelled_patches(equalising.equalised(lambda p: p)(patches))
    np.testing.assert_array_equal(train.network_feed('separation')(patches), expected)
    assert not np.allclose(expected, make_separate.levelled_patches(patches))


def test_an_unknown_feed_is_refused_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        train.main(['--feed', 'sideways', '-o', str(tmp_path / 'r')])
    assert "invalid choice: 'sideways'" in capsys.readouterr().err
    assert not os.path.exists(str(tmp_path / 'r'))


def test_a_run_stopped_within_an_epoch_still_logs_validates_and_plots(tmp_path):
    """--stop 3 with 2 iterations an epoch: the run's last iteration is
    logged, validated, plotted and may give model_best, as an epoch end."""
    status, out = run(tmp_path, '--stop', '3')
    assert status == 0
    assert {'model_3', 'snapshot_iter_3', 'log', 'loss.png', 'model_best'} <= \
        set(os.listdir(out))
    with open(os.path.join(out, 'log')) as handle:
        log = json.load(handle)
    assert [entry['iteration'] for entry in log] == [2, 3]
    assert all(np.isfinite(entry['validation/main/loss']) for entry in log)


def test_resume_at_or_past_stop_is_refused_in_one_line(tmp_path, capsys):
    status, out = run(tmp_path, '--stop', '3')
    assert status == 0
    snapshot = os.path.join(out, 'snapshot_iter_3')
    for stop in ('2', '3'):
        capsys.readouterr()
        status, _ = run(tmp_path, '--stop', stop, '-r', snapshot)
        err = capsys.readouterr().err
        assert status == 1
        assert 'the snapshot is at iteration 3, already at --stop {}'.format(stop) in err
    assert not os.path.exists(os.path.join(out, 'model_4'))


def test_val_dir_missing_or_unusable_is_one_line(tmp_path, capsys):
    status, _ = run(tmp_path, '--stop', '1', '--val-dir', str(tmp_path / 'nothing'))
    err = capsys.readouterr().err
    assert status == 1 and '--val-dir folder {}'.format(tmp_path / 'nothing') in err
    bad = tmp_path / 'bad_val'
    bad.mkdir()
    np.savez(str(bad / 'a.npz'), mix=np.ones((513, 140), np.float32))   # no 'vocal'
    status, _ = run(tmp_path, '--stop', '1', '--val-dir', str(bad))
    err = capsys.readouterr().err
    assert status == 1 and '--val-dir {}: no usable npz'.format(bad) in err
    assert not os.path.exists(str(tmp_path / 'result' / 'model_1'))


def test_val_dir_is_checked_before_mixing_loads_audio(tmp_path, capsys, speech_music_dirs,
                                                      monkeypatch):
    music, speech = speech_music_dirs
    monkeypatch.setattr(train, 'mix_tracks', lambda *a, **k: pytest.fail('audio loaded'))
    status = train.main(['--mix', '-s', speech, '-m', music, '-o', str(tmp_path / 'r'),
                         '--val-dir', str(tmp_path / 'nothing'), '--stop', '1'])
    assert status == 1
    assert '--val-dir folder' in capsys.readouterr().err


def test_resume_after_adding_data_names_the_settings_and_init(tmp_path, capsys):
    status, out = run(tmp_path, '--stop', '2')
    assert status == 0
    snapshot = os.path.join(out, 'snapshot_iter_2')
    make_npz(str(tmp_path / 'more'), count=5, seed=3)
    for name in os.listdir(str(tmp_path / 'more')):      # more patches an epoch now
        os.rename(str(tmp_path / 'more' / name), str(tmp_path / 'stft' / ('more_' + name)))
    capsys.readouterr()
    status, _ = run(tmp_path, '--stop', '4', '-r', snapshot)
    err = capsys.readouterr().err
    assert status == 1
    assert 'another number of patches an epoch (-b' in err and '--init ' + snapshot in err
    status, _ = run(tmp_path, '--stop', '4', '--init', snapshot)      # as the line says...
    assert status == 1 and 'would replace it' in capsys.readouterr().err   # ...not over itself
    status, _ = run(tmp_path, '--stop', '4', '--init', snapshot, '-o', str(tmp_path / 'r2'))
    assert status == 0


def test_resume_with_validation_turned_on_or_off_is_refused_in_one_line(tmp_path, capsys):
    """Validation dropped on resume was accepted (its best-model state lost
    without a word); turned on, it was refused after Chainer's warnings."""
    val = make_npz(str(tmp_path / 'val'), count=1, seed=5)
    for before, after, words in ((['--val-dir', val], [], 'on and this one has it off; '
                                  'resume with validation on (--val, --val-dir)'),
                                 ([], ['--val-dir', val], 'off and this one has it on; '
                                  'resume with --val 0 (a snapshot of upstream')):
        out = str(tmp_path / ('r' + str(len(before))))
        status, _ = run(tmp_path, '--stop', '1', '--val', '0', '-o', out, *before)
        assert status == 0
        capsys.readouterr()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            status, _ = run(tmp_path, '--stop', '2', '--val', '0', *after,
                            '-r', os.path.join(out, 'snapshot_iter_1'))
        assert status == 1
        assert "the snapshot's run had validation " + words in capsys.readouterr().err
        assert not [w for w in caught if 'not saved' in str(w.message)]


def test_a_model_or_other_file_given_to_r_is_named_before_training(tmp_path, capsys):
    status, out = run(tmp_path, '--stop', '1')
    assert status == 0
    model = os.path.join(out, 'model_1')
    text = tmp_path / 'notes.txt'
    text.write_text('not an npz')
    magnitudes = str(tmp_path / 'stft' / sorted(os.listdir(str(tmp_path / 'stft')))[0])
    for given, reason in (
            (model, 'a model, not a trainer snapshot (snapshot_iter_N); start from its '
                    'weights with --init ' + model),
            (str(text), 'not a trainer snapshot (not an npz file, or a damaged one)'),
            (magnitudes, 'an npz file that is not a trainer snapshot (snapshot_iter_N)')):
        capsys.readouterr()
        status, _ = run(tmp_path, '--stop', '2', '-r', given, '-o', str(tmp_path / 'r2'))
        assert status == 1
        assert capsys.readouterr().err.strip() == 'train.py: error: -r {}: {}'.format(
            given, reason)
        assert not os.path.exists(str(tmp_path / 'r2'))


def test_a_resumed_run_prints_only_its_own_epochs_and_logs_all(tmp_path, capsys):
    status, out = run(tmp_path, '-e', '2')     # 2 iterations an epoch
    assert status == 0
    capsys.readouterr()
    status, _ = run(tmp_path, '-e', '3', '-r',
                    os.path.join(out, 'snapshot_iter_4'))
    assert status == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    epochs = [row[0] for row in rows if row and row[0].isdigit()]
    assert epochs == ['3']
    with open(os.path.join(out, 'log')) as handle:
        assert [row['epoch'] for row in json.load(handle)] == [1, 2, 3]


def test_a_run_ending_mid_epoch_saves_over_an_earlier_runs_last_files(tmp_path, capsys):
    """A second run into the same folder that also stopped at iteration 3
    (within an epoch) kept the first run's model_3 and snapshot_iter_3 and
    said 'latest model_3' of them."""
    def read(name):
        with open(os.path.join(out, name), 'rb') as handle:
            return handle.read()
    status, out = run(tmp_path, '--stop', '3', '--seed', '1')     # 2 iterations an epoch
    assert status == 0
    first = [read('model_3'), read('snapshot_iter_3')]
    future = time.time() + 3600          # copied in with times ahead, or a clock stepped back
    for name in ('model_3', 'snapshot_iter_3'):
        os.utime(os.path.join(out, name), (future, future))
    status, _ = run(tmp_path, '--stop', '3', '--seed', '2')
    assert status == 0
    assert read('model_3') != first[0] and read('snapshot_iter_3') != first[1]
    status, _ = run(tmp_path / 'again', '--stop', '4', '-r', os.path.join(out, 'snapshot_iter_3'),
                    '-o', out)
    assert status == 0 and 'latest {}'.format(os.path.join(out, 'model_4')) in \
        capsys.readouterr().out


def test_the_plotted_training_loss_is_each_epochs_mean_as_logged(tmp_path):
    """The plot's training loss had been the last batch's of each epoch."""
    status, out = run(tmp_path, '-e', '3')
    assert status == 0
    with np.load(os.path.join(out, 'snapshot_iter_6')) as data:
        plotted = json.loads(str(data['extensions/PlotReport/_plot_loss.png']))
    with open(os.path.join(out, 'log')) as handle:
        logged = [row['main/loss'] for row in json.load(handle)]
    np.testing.assert_allclose([loss for _, loss in plotted['main/loss']], logged, rtol=1e-6)


def test_a_resumed_run_does_not_replay_the_first_crops(tmp_path, monkeypatch):
    """The npz crops after -r at iteration 2 are not those of iterations 1
    and 2 (NumPy's generator is seeded by the iteration too), and resuming
    the same snapshot twice crops the same."""
    starts = []
    draw = np.random.randint
    monkeypatch.setattr(train.np.random, 'randint',
                        lambda *a, **k: starts.append(draw(*a, **k)) or starts[-1])
    status, out = run(tmp_path, '--stop', '2')
    assert status == 0
    first, starts[:] = list(starts), []
    snapshot = os.path.join(out, 'snapshot_iter_2')
    resumed = []
    for k in range(2):
        assert run(tmp_path / str(k), '--stop', '4', '-r', snapshot)[0] == 0
        resumed.append(list(starts))
        starts[:] = []
    assert resumed[0] == resumed[1] and len(resumed[0]) == len(first)
    assert resumed[0] != first


def test_a_folder_another_run_trains_into_is_refused(tmp_path, capsys):
    import fcntl
    out = tmp_path / 'result'
    out.mkdir()
    with open(str(out / train.LOCK_FILE), 'a') as other_run:
        fcntl.flock(other_run, fcntl.LOCK_EX | fcntl.LOCK_NB)
        status, _ = run(tmp_path, '--stop', '1')
    err = capsys.readouterr().err
    assert status == 1 and 'another train.py is training into it' in err
    assert not os.path.exists(str(out / 'model_1')) and not os.path.exists(str(out / 'log'))
    assert run(tmp_path, '--stop', '1')[0] == 0        # once it has ended


def test_an_init_model_the_run_would_write_over_is_refused(tmp_path, capsys):
    status, out = run(tmp_path, '--stop', '2')
    assert status == 0
    first = os.path.join(out, 'model_2')
    with open(first, 'rb') as handle:
        before = handle.read()
    os.symlink(first, str(tmp_path / 'start.model'))
    for init in (first, str(tmp_path / 'start.model')):
        capsys.readouterr()
        status, _ = run(tmp_path, '--stop', '2', '--init', init)
        assert status == 1
        assert 'would replace it' in capsys.readouterr().err
    with open(first, 'rb') as handle:
        assert handle.read() == before
    status, _ = run(tmp_path, '--stop', '2', '--init', first, '-o', str(tmp_path / 'next'))
    assert status == 0                                  # into another folder: fine


def test_init_from_model_best_into_its_own_folder_only_where_it_validates(tmp_path, capsys):
    """A run without validation writes no model_best, so continuing from the
    folder's model_best into that folder keeps it; with validation it would
    be replaced and is refused."""
    status, out = run(tmp_path, '--stop', '2', '--val', '0.5')
    assert status == 0
    best = os.path.join(out, 'model_best')
    with open(best, 'rb') as handle:
        before = handle.read()
    capsys.readouterr()
    status, _ = run(tmp_path, '--stop', '2', '--init', best)
    assert status == 1 and 'would replace it' in capsys.readouterr().err
    status, _ = run(tmp_path, '--stop', '2', '--init', best, '--val', '0')
    assert status == 0
    with open(best, 'rb') as handle:
        assert handle.read() == before
    assert os.path.isfile(os.path.join(out, 'model_2'))


def test_init_from_model_best_of_a_one_file_run_into_its_folder(tmp_path, capsys):
    """One npz file: nothing can be held out, so no model_best is written
    and continuing from an earlier one into its folder keeps it."""
    stft = make_npz(str(tmp_path / 'one'), count=1)
    out = tmp_path / 'r'
    out.mkdir()
    best = out / 'model_best'
    best.write_bytes(open(os.path.join(ROOT, 'unet.model'), 'rb').read())
    status = train.main(['-t', stft, '-o', str(out), '-b', '2', '-l', '64', '--init',
                         str(best), '--stop', '1'])
    assert status == 0, capsys.readouterr().err
    assert best.read_bytes() == open(os.path.join(ROOT, 'unet.model'), 'rb').read()


def test_resuming_a_run_already_at_its_epochs_is_refused(tmp_path, capsys):
    """It exited 0 having trained nothing, and copied the snapshot's model
    into a new -o, where --stop refuses the same."""
    status, out = run(tmp_path, '-e', '2')
    assert status == 0
    capsys.readouterr()
    for epochs in ('2', '1'):
        status, _ = run(tmp_path, '-e', epochs, '-r', os.path.join(out, 'snapshot_iter_4'),
                        '-o', str(tmp_path / 'more'))
        assert status == 1
        assert capsys.readouterr().err.strip().endswith(
            'the snapshot has trained 2 epochs, already at -e {}; give a larger -e'.format(
                epochs))
    assert not os.path.exists(str(tmp_path / 'more' / 'model_4'))
    assert run(tmp_path, '-e', '3', '-r', os.path.join(out, 'snapshot_iter_4'))[0] == 0


def test_resuming_a_run_already_past_stop_seconds_is_refused(tmp_path, capsys):
    """It exited 0 having trained nothing, where --stop refuses the same."""
    status, out = run(tmp_path, '--stop', '2')
    assert status == 0
    snapshot = os.path.join(out, 'snapshot_iter_2')
    with np.load(snapshot) as data:
        trained = float(data['_snapshot_elapsed_time'])
    capsys.readouterr()
    status, _ = run(tmp_path, '--stop', '4', '-r', snapshot, '--stop-seconds',
                    '{:g}'.format(trained / 2))
    assert status == 1
    err = capsys.readouterr().err
    assert 'already at --stop-seconds' in err and 'give a larger --stop-seconds' in err
    assert not os.path.exists(os.path.join(out, 'model_3'))


def test_a_val_dir_of_audio_or_of_text_named_npz_says_so(tmp_path, capsys):
    stft = make_npz(str(tmp_path / 'stft'))
    wavs = tmp_path / 'mixdown'
    wavs.mkdir()
    (wavs / 'a.wav').write_bytes(b'')
    status = train.main(['-t', stft, '--val-dir', str(wavs), '-o', str(tmp_path / 'r'),
                         '--init', 'none'])
    err = capsys.readouterr().err
    assert status == 1 and err.count('\n') == 1
    assert '--val-dir {}: no npz files (it holds audio'.format(wavs) in err
    (tmp_path / 'stft' / 'notes.npz').write_text('not an npz')
    assert train.npz_files(stft)[-1].endswith('notes.npz')
    assert len(train.load_items(train.npz_files(stft))) == 3
    assert 'notes.npz: not an npz file' in capsys.readouterr().err


def test_val_with_val_dir_or_a_val_dir_of_all_of_t_is_refused(tmp_path, capsys):
    """--val was ignored without a word beside --val-dir; a --val-dir equal
    to -t said 'see the warnings above' where there were none."""
    val = make_npz(str(tmp_path / 'val'), count=1, seed=5)
    status, _ = run(tmp_path, '--stop', '1', '--val', '0.5', '--val-dir', val)
    assert status == 1
    assert capsys.readouterr().err.strip() == (
        'train.py: error: --val 0.5: does not apply with --val-dir, whose files are the '
        'validation set (--val 0 holds nothing out of -t)')
    for given in ([], ['--val', '0']):       # the default with --val-dir is 0: nothing ignored
        status, _ = run(tmp_path / ('ok' + str(len(given))), '--stop', '1', '--val-dir', val,
                        *given)
        assert status == 0
    stft = str(tmp_path / 'stft')
    status, _ = run(tmp_path, '--stop', '1', '--val-dir', stft)
    assert status == 1
    assert 'every npz file in it is a --val-dir file too' in capsys.readouterr().err
    assert not os.path.exists(str(tmp_path / 'result'))


def test_t_or_val_dir_given_a_file_says_it_is_a_file(tmp_path, capsys):
    stft = make_npz(str(tmp_path / 'stft'))
    one = os.path.join(stft, sorted(os.listdir(stft))[0])
    for extra, option in ((['-t', one], '-t'), (['--val-dir', one], '--val-dir')):
        status = train.main(['-t', stft, '-o', str(tmp_path / 'r'), '--init', 'none',
                             '--stop', '1'] + extra)
        assert status == 1
        assert capsys.readouterr().err.strip() == (
            'train.py: error: {} {}: is a file; give the folder of npz files'.format(option, one))


def test_a_run_left_without_validation_says_so(tmp_path, capsys):
    stft = make_npz(str(tmp_path / 'one'), count=1)
    status = train.main(['-t', stft, '-o', str(tmp_path / 'r'), '-b', '2', '-l', '64',
                         '--init', 'none', '--stop', '1'])
    assert status == 0
    assert ('note: no validation (one npz file in -t, none held out), so no model_best'
            in capsys.readouterr().err)
    status = train.main(['-t', stft, '-o', str(tmp_path / 'r0'), '-b', '2', '-l', '64',
                         '--init', 'none', '--stop', '1', '--val', '0'])
    assert status == 0 and 'no validation' not in capsys.readouterr().err   # as asked


@pytest.mark.parametrize('examples, batch, epochs', [(7, 2, 3), (8, 2, 3), (5, 3, 2), (1, 4, 2)])
def test_the_planned_iterations_are_those_the_iterator_takes(examples, batch, epochs):
    """A rank's share of the npz patches need not be a multiple of -b; the
    plan (which --lr-end falls over) had been 9 iterations where the
    iterator takes 11 to finish 3 epochs of 7 patches in batches of 2."""
    import argparse
    import chainer
    iterator = chainer.iterators.SerialIterator(list(range(examples)), batch)
    taken = 0
    while iterator.epoch < epochs:
        iterator.next()
        taken += 1
    args = argparse.Namespace(stop=0, epoch=epochs, batchsize=batch)
    assert train.run_iterations(args, list(range(examples))) == taken


def test_a_val_dir_inside_the_stft_folder_is_not_trained_on(tmp_path, capsys):
    """-t is read with its subfolders: a --val-dir among them joined the
    training files without a word."""
    stft = make_npz(str(tmp_path / 'stft'))
    val = make_npz(str(tmp_path / 'stft' / 'val'), count=1, seed=5)
    assert train.main(['-t', stft, '--val-dir', val, '-o', str(tmp_path / 'r'), '-b', '2',
                       '-l', '64', '--init', 'none', '--stop', '1']) == 0
    out, err = capsys.readouterr()
    assert '# data: 3 files' in out and 'validation 1 file,' in out
    assert 'note: the 1 file of --val-dir {} inside -t {} is not trained on'.format(
        val, stft) in err


def test_a_stop_while_a_model_is_written_waits_for_the_whole_file(tmp_path, monkeypatch):
    """SIGTERM (or Ctrl-C) in the middle of numpy's zip writing left its
    file object unclosed: 'Exception ignored in ZipFile.__del__' and a
    traceback at exit. The stop now waits for the file to be written."""
    import signal
    path = str(tmp_path / 'model_1')
    seen = []
    previous = signal.signal(signal.SIGTERM, lambda *_: seen.append(os.path.exists(path)))
    save = train.chainer.serializers.save_npz

    def stopped_mid_write(*args, **keys):
        os.kill(os.getpid(), signal.SIGTERM)
        save(*args, **keys)
    monkeypatch.setattr(train.chainer.serializers, 'save_npz', stopped_mid_write)
    try:
        train.save_uncompressed(path, train.network.UNet())
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert seen == [True]
