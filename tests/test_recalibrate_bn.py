"""scripts/recalibrate_bn.py: normalisation statistics re-measured, weights kept."""
import os
import sys

import chainer
import numpy as np

import equalising
import make_separate
import network
from conftest import chirp, harmonic_stack, noise_bursts, write

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), 'scripts'))
import recalibrate_bn  # noqa: E402


def folders(tmp_path):
    write(tmp_path / 'speech' / 'a.wav', harmonic_stack(5.0))
    write(tmp_path / 'speech' / 'b.wav', chirp(5.0))
    write(tmp_path / 'music' / 'm.wav', noise_bursts(5.0))
    return ['-s', str(tmp_path / 'speech'), '-m', str(tmp_path / 'music')]


def test_statistics_become_the_mean_of_the_equalised_levelled_batches_and_weights_stay(
        tmp_path, model_path):
    out = str(tmp_path / 'recal.model')
    argv = [model_path, '-o', out, '--patches', '8', '-b', '4', '--seed', '3'] + folders(tmp_path)
    assert recalibrate_bn.main(argv) == 0
    before, after = network.load_unet(model_path), network.load_unet(out)
    dataset = recalibrate_bn.examples(recalibrate_bn.build_parser().parse_args(argv))
    as_separation_feeds = equalising.equalised(make_separate.levelled_patches)
    batch_means = []
    for ids in (range(0, 4), range(4, 8)):
        patches = as_separation_feeds(np.stack([dataset[i][0] for i in ids]))
        batch_means.append(before.conv1(patches).array.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(after.norm1.avg_mean, np.mean(batch_means, axis=0),
                               rtol=1e-4, atol=1e-6)
    assert not np.allclose(after.norm1.avg_mean, before.norm1.avg_mean)
    assert int(after.norm1.N) == 2
    for name, param in before.namedparams():
        np.testing.assert_array_equal(param.array, dict(after.namedparams())[name].array)


def test_only_whole_batches_are_measured_and_the_summary_says_how_many(
        tmp_path, model_path, capsys):
    out = str(tmp_path / 'recal.model')
    assert recalibrate_bn.main([model_path, '-o', out, '--patches', '10', '-b', '4']
                               + folders(tmp_path)) == 0
    assert int(network.load_unet(out).norm1.N) == 2
    assert 'over 8 patches' in capsys.readouterr().out


def test_statistics_are_measured_with_dropout_off_and_the_model_restored_after():
    unet = network.UNet()
    x = np.random.default_rng(0).random((2, 1, 512, 64), dtype=np.float32)
    with recalibrate_bn.accumulating_statistics(unet):
        assert unet.dropout == 0.0
        first = unet(x).array
        second = unet(x).array
    np.testing.assert_array_equal(first, second)     # no dropout draws
    assert unet.dropout == 0.5
    assert all('forward' not in vars(link) for link in recalibrate_bn.norm_links(unet))
    with chainer.using_config('train', False):
        unet(x)                                      # plain forward works again


def test_refuses_to_write_over_its_input_or_an_existing_file(tmp_path, model_path, capsys):
    existing = tmp_path / 'kept.model'
    existing.write_bytes(b'keep')
    assert recalibrate_bn.main([model_path, '-o', str(existing)] + folders(tmp_path)) == 1
    assert existing.read_bytes() == b'keep'
    assert 'overwrite' in capsys.readouterr().err
    before = open(model_path, 'rb').read()
    assert recalibrate_bn.main([model_path, '-o', model_path, '--overwrite']
                               + folders(tmp_path)) == 1
    assert 'the output is one of the inputs' in capsys.readouterr().err
    assert open(model_path, 'rb').read() == before
    missing = str(tmp_path / 'no_such_folder')
    assert recalibrate_bn.main([model_path, '-o', str(tmp_path / 'new.model'),
                                '-s', missing, '-m', str(tmp_path / 'music')]) == 1
    assert 'speech folder {} does not exist'.format(missing) in capsys.readouterr().err


def test_equalise_off_measures_on_levelled_patches_alone(tmp_path):
    args = recalibrate_bn.build_parser().parse_args(
        ['m', '-o', 'x', '--equalise', 'off'] + folders(tmp_path))
    patches = np.random.default_rng(1).random((2, 1, 512, 64), dtype=np.float32)
    patches[:, :, :32] *= 1e-2                      # lows cut (a small speaker): boost raises them
    levelled = make_separate.levelled_patches(patches)
    np.testing.assert_array_equal(recalibrate_bn.network_input(args)(patches), levelled)
    boosted = recalibrate_bn.network_input(recalibrate_bn.build_parser().parse_args(
        ['m', '-o', 'x'] + folders(tmp_path)))(patches)

    def lows_re_highs(p):
        return p[:, :, :32].mean() / p[:, :, 256:].mean()
    assert lows_re_highs(boosted) > 2 * lows_re_highs(levelled)
    assert np.isclose(boosted.max(), levelled.max())    # levelled after the boost


def test_examples_are_drawn_with_the_mixing_options_given(tmp_path):
    def drawn(*extra):
        args = recalibrate_bn.build_parser().parse_args(
            ['m', '-o', 'x', '--seed', '4'] + folders(tmp_path) + list(extra))
        dataset = recalibrate_bn.examples(args)
        return dataset, np.stack([dataset[i][0] for i in range(3)])
    plain, plain_patches = drawn()
    coloured, coloured_patches = drawn('--mixing', '--colour-mix 1 --music-speed 0.9 1.1')
    assert plain.settings.colour_mix == 0.0 and plain.settings.balance_music
    assert coloured.settings.colour_mix == 1.0 and not coloured.settings.balance_music
    assert not np.allclose(plain_patches, coloured_patches)
    np.testing.assert_array_equal(drawn()[1], plain_patches)     # the seed repeats them


def test_mixing_options_train_py_refuses_are_one_line(tmp_path, model_path, capsys):
    out = tmp_path / 'recal.model'
    for mixing, reason in (('--no-such-option', 'unrecognized arguments: --no-such-option'),
                           ('--colour-mix 2', '--colour-mix 2.0: must be from')):
        assert recalibrate_bn.main([model_path, '-o', str(out), '--mixing=' + mixing]
                                   + folders(tmp_path)) == 1
        err = capsys.readouterr().err
        assert reason in err and len(err.strip().splitlines()) == 1
        assert not out.exists()


def test_mixing_strings_that_do_not_split_or_give_a_bad_patch_length_are_one_line(
        tmp_path, model_path, capsys):
    """An open quote (shlex) and a -l that is no multiple of 64 from 64 to
    2048 (train.py's own check) are refused before anything is drawn or
    written."""
    out = tmp_path / 'recal.model'
    for mixing, reason in (('"unbalanced', '--mixing "unbalanced: No closing quotation'),
                           ('-l 100', '-l 100: the patch length must be a multiple of 64'),
                           ('-l 0', '-l 0: the patch length must be a multiple of 64'),
                           ('-l 4096', '-l 4096: the patch length must be a multiple of 64 '
                                       '(six stride-2 layers) from 64 to 2048')):
        assert recalibrate_bn.main([model_path, '-o', str(out), '--mixing=' + mixing]
                                   + folders(tmp_path)) == 1
        err = capsys.readouterr().err
        assert err.startswith('recalibrate_bn.py: error: ') and reason in err, err
        assert len(err.strip().splitlines()) == 1
        assert not out.exists()
