"""scripts/paired.py (two models compared item by item) and model_tables.py."""
import csv
import os
import sys

import pytest

import evaluate

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), 'scripts'))
import conftest  # noqa: E402
import paired  # noqa: E402


def write_scores(path, method, gains):
    """An evaluate.py --csv file with one row per ``(name, snr_db, si_sdri)``,
    plus an ideal-mask row and a speech-alone row that must not count."""
    with open(path, 'w', newline='') as handle:
        writer = csv.DictWriter(handle, fieldnames=evaluate.CSV_COLUMNS, restval='')
        writer.writeheader()
        for name, snr_db, gain in gains:
            writer.writerow({'name': name, 'method': method, 'snr_db': snr_db, 'si_sdri': gain})
            writer.writerow({'name': name, 'method': 'oracle-irm', 'snr_db': snr_db, 'si_sdri': 99.0})
        writer.writerow({'name': 'speech/x', 'method': method, 'condition': 'speech alone',
                         'passthrough': 40.0})
    return str(path)


def table(capsys):
    """``{group: (items, paired mean)}`` from the printed Markdown table."""
    rows = {}
    for line in capsys.readouterr().out.splitlines()[2:]:
        cells = [c.strip() for c in line.strip('|').split('|')]
        rows[cells[0]] = (int(cells[1]), float(cells[4].split()[0]))
    return rows


def test_differences_are_paired_over_minus_five_to_plus_five_db(tmp_path, capsys):
    base = [('snr-5/a', -5, 8.0), ('snr-5/b', -5, 2.0), ('snr0/a', 0, 7.0),
            ('snr5/a', 5, 6.0), ('snr10/a', 10, 5.0)]
    new = [('snr-5/a', -5, 9.0), ('snr-5/b', -5, 2.5), ('snr0/a', 0, 6.0),
           ('snr5/a', 5, 6.5), ('snr10/a', 10, 50.0)]
    paired.main([write_scores(tmp_path / 'base.csv', 'unet.model', base),
                 write_scores(tmp_path / 'new.csv', 'cand.model', new)])
    rows = table(capsys)
    assert rows['-5 dB'] == (2, 0.75)
    assert rows['+0 dB'] == (1, -1.0)
    assert rows['all'] == (4, 0.25)           # +10 dB, the mask and speech alone left out
    assert '+10 dB' not in rows


def test_other_snrs_are_compared_with_snrs(tmp_path, capsys):
    """--snrs -15 -10: the items below -5 dB (build/val_low's), and no others."""
    base = [('snr-10/a', -10, 4.0), ('snr-15/a', -15, 1.0), ('snr0/a', 0, 7.0)]
    new = [('snr-10/a', -10, 5.0), ('snr-15/a', -15, 3.0), ('snr0/a', 0, 0.0)]
    paired.main([write_scores(tmp_path / 'base.csv', 'm', base),
                 write_scores(tmp_path / 'new.csv', 'm', new), '--snrs', '-15', '-10'])
    rows = table(capsys)
    assert list(rows) == ['-15 dB', '-10 dB', 'all']       # the SNRs in order
    assert rows['-15 dB'] == (1, 2.0) and rows['-10 dB'] == (1, 1.0)
    assert rows['all'] == (2, 1.5) and '+0 dB' not in rows
    base_only = write_scores(tmp_path / 'b.csv', 'm', [('snr0/a', 0, 1.0)])
    assert 'share no items at -15/-10 dB' in refusal([base_only, base_only, '--snrs', '-15',
                                                       '-10'], capsys)


def test_harm_sets_the_quiet_and_alone_measures_side_by_side(tmp_path, capsys):
    """--harm: +10 dB mean and worst, speech alone mean and worst, music
    alone mean, mean with leaks counted from -40 dB, worst; the ideal mask's
    rows left out."""
    def scores(path, gains, passes, leaks):
        path = write_scores(path, 'm', gains)
        with open(path, 'a', newline='') as handle:
            writer = csv.DictWriter(handle, fieldnames=evaluate.CSV_COLUMNS, restval='')
            for k, value in enumerate(passes):
                writer.writerow({'name': 'speech/s{}'.format(k), 'method': 'm',
                                 'condition': 'speech alone', 'passthrough': value})
            for k, value in enumerate(leaks):
                for method, leak in (('m', value), ('oracle-irm', value - 100.0)):
                    writer.writerow({'name': 'music/m{}'.format(k), 'method': method,
                                     'condition': 'music alone', 'leak_db': leak})
        return path
    base = scores(tmp_path / 'base.csv', [('snr10/a', 10, 6.0), ('snr10/b', 10, -2.0),
                                          ('snr0/a', 0, 1.0)], [], [-90.0, -20.0])
    new = scores(tmp_path / 'new.csv', [('snr10/a', 10, 5.0), ('snr10/b', 10, 1.0),
                                        ('snr0/a', 0, 1.0)], [30.0], [-60.0, -14.0])
    paired.main([base, new, '--harm'])
    lines = capsys.readouterr().out.split('\n\n')[1].splitlines()[2:]
    got = {cells[0]: tuple(float(c) for c in cells[1:])
           for cells in ([c.strip() for c in line.strip('|').split('|')] for line in lines)}
    assert got['+10 dB SI-SDRi, mean'] == (2.0, 3.0, 1.0)
    assert got['+10 dB SI-SDRi, worst'] == (-2.0, 1.0, 3.0)
    assert got['speech alone passthrough, mean'][:2] == (40.0, 35.0)   # 40 from write_scores
    assert got['speech alone passthrough, worst'] == (40.0, 30.0, -10.0)
    assert got['music alone leak, mean'] == (-55.0, -37.0, 18.0)
    assert got['music alone leak, mean counted from -40 dB'] == (-30.0, -27.0, 3.0)
    assert got['music alone leak, worst'] == (-20.0, -14.0, 6.0)


def test_harm_refuses_a_nan_score_naming_the_item(tmp_path, capsys):
    """min and max over a list holding NaN depend on where it sits: a
    speech-alone file scored NaN (a silenced voice before evaluate.py floored
    it) is refused by name rather than dropped from the worst."""
    base = write_scores(tmp_path / 'base.csv', 'm', [('snr0/a', 0, 6.0), ('snr10/a', 10, 6.0)])
    new = write_scores(tmp_path / 'new.csv', 'm', [('snr0/a', 0, 7.0), ('snr10/a', 10, 5.0)])
    with open(new, 'a', newline='') as handle:
        csv.DictWriter(handle, fieldnames=evaluate.CSV_COLUMNS, restval='').writerow(
            {'name': 'speech/lost', 'method': 'm', 'condition': 'speech alone',
             'passthrough': 'nan'})
    line = refusal([base, new, '--harm'], capsys)
    assert 'new.csv' in line and 'speech/lost' in line and 'nan' in line
    assert paired.main([base, new]) == 0      # without --harm the gains stand as before
    assert table(capsys)['+0 dB'] == (1, 1.0)


def test_harm_leaves_out_items_too_short_to_score_with_a_note(tmp_path, capsys):
    """evaluate.py scores no SI-SDR under const.EVAL_MIN_SAMPLES: such an
    item's nan is counted in a note, not refused as a lost voice; the main
    table counts the nan gains it leaves out too."""
    short = 'si_sdr: the signal is too short (10 samples, 0.6 ms; at least 1024, 64 ms)'
    base = write_scores(tmp_path / 'base.csv', 'm', [('snr0/a', 0, 6.0), ('snr10/a', 10, 6.0)])
    new = write_scores(tmp_path / 'new.csv', 'm', [('snr0/a', 0, 7.0), ('snr10/a', 10, 5.0)])
    with open(new, 'a', newline='') as handle:
        writer = csv.DictWriter(handle, fieldnames=evaluate.CSV_COLUMNS, restval='')
        writer.writerow({'name': 'speech/tiny', 'method': 'm', 'condition': 'speech alone',
                         'passthrough': 'nan', 'notes': short})
        for snr_db in (0, 10):
            writer.writerow({'name': 'snr{}/tiny'.format(snr_db), 'method': 'm',
                             'snr_db': snr_db, 'si_sdri': 'nan', 'notes': short})
    assert paired.main([base, new, '--harm']) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        'note: {}: left out 1 item whose SI-SDRi is nan (too short, say: see the notes '
        'column)'.format(new),
        'note: {}: --harm leaves out 2 items too short to score (under 1024 samples; nan, '
        'with a note)'.format(new)]
    assert '| speech alone passthrough, worst | 40.00 | 40.00 | +0.00 |' in out
    assert '| +10 dB SI-SDRi, worst | 6.00 | 5.00 | -1.00 |' in out


def test_a_model_named_like_oracle_is_no_oracle(tmp_path, capsys):
    """Oracles are told by evaluate.py's exact labels, not the prefix."""
    base = write_scores(tmp_path / 'base.csv', 'oracle-free.model', [('snr0/a', 0, 6.0)])
    new = write_scores(tmp_path / 'new.csv', 'oracle-free.model', [('snr0/a', 0, 7.5)])
    assert paired.main([base, new]) == 0
    assert table(capsys)['all'] == (1, 1.5)


def test_turns_follow_the_sorted_names_within_each_folder(tmp_path, capsys):
    base = [('snr0/c', 0, 1.0), ('snr0/a', 0, 1.0), ('snr0/b', 0, 1.0), ('snr5/a', 5, 1.0)]
    new = [('snr0/c', 0, 4.0), ('snr0/a', 0, 2.0), ('snr0/b', 0, 1.5), ('snr5/a', 5, 3.0)]
    paired.main([write_scores(tmp_path / 'base.csv', 'm', base),
                 write_scores(tmp_path / 'new.csv', 'm', new), '--turns', 'hall', 'room'])
    rows = table(capsys)
    assert rows['hall'] == (3, 2.0)           # snr0/a, snr0/c and snr5/a: +1, +3, +2
    assert rows['room'] == (1, 0.5)           # snr0/b


def refusal(argv, capsys):
    return conftest.refusal(paired.main, 'paired.py', argv, capsys)


@pytest.fixture(autouse=True)
def plain_errors(monkeypatch):
    monkeypatch.delenv('SPEECHSEP_DEBUG', raising=False)


def test_no_shared_items_is_one_clear_error(tmp_path, capsys):
    base = write_scores(tmp_path / 'base.csv', 'm', [('snr0/a', 0, 1.0)])
    new = write_scores(tmp_path / 'new.csv', 'm', [('snr0/b', 0, 1.0)])
    assert 'share no items' in refusal([base, new], capsys)


@pytest.mark.parametrize('row, words', [
    ('snr0/a,other.model,0,,,,,2.0,,,,,,,,', 'several models'),
    ('snr0/b,m,0,,,,,garbage,,,,,,,,', 'a score that is not a number'),
])
def test_a_second_model_or_a_score_that_is_not_a_number_is_refused(row, words, tmp_path,
                                                                   capsys):
    base = write_scores(tmp_path / 'base.csv', 'm', [('snr0/a', 0, 1.0)])
    with open(base, 'a', newline='') as handle:
        handle.write(row + '\n')
    assert words in refusal([base, base], capsys)


def test_a_missing_file_is_one_line_naming_it(tmp_path, capsys):
    base = write_scores(tmp_path / 'base.csv', 'm', [('snr0/a', 0, 1.0)])
    missing = str(tmp_path / 'not-scored-yet.csv')
    assert '{}: No such file'.format(missing) in refusal([base, missing], capsys)


def test_a_csv_that_evaluate_py_did_not_write_is_refused(tmp_path, capsys):
    base = write_scores(tmp_path / 'base.csv', 'm', [('snr0/a', 0, 1.0)])
    other = tmp_path / 'other.csv'
    other.write_text('file,score\nsnr0/a,3.0\n')
    assert 'other.csv is not an evaluate.py --csv file' in refusal([base, str(other)], capsys)


def test_model_tables_names_a_missing_csv_in_one_line(tmp_path, capsys):
    import model_tables
    missing = str(tmp_path / 'none.csv')
    assert model_tables.main([missing]) == 1
    err = capsys.readouterr().err.strip()
    assert err == 'model_tables.py: error: {}: No such file or directory'.format(missing)


@pytest.mark.parametrize('snr_db', ['', 'loud', 'inf', 'nan'])
def test_mixture_rows_without_an_input_snr_are_one_line_naming_the_file(snr_db, tmp_path,
                                                                        capsys):
    """evaluate.py run on a folder without manifest.csv leaves snr_db empty:
    both scripts group mixtures by input SNR, so both refuse such a file."""
    import model_tables
    base = write_scores(tmp_path / 'base.csv', 'm', [('snr0/a', 0, 1.0)])
    blank = write_scores(tmp_path / 'blank.csv', 'm', [('x/a', snr_db, 1.0)])
    wanted = "{}: its mixture rows have no input SNR (x/a: snr_db '{}')".format(blank, snr_db)
    assert wanted in refusal([base, blank], capsys)
    assert model_tables.main([blank]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith('model_tables.py: error: ' + wanted) and '\n' not in err


def test_model_tables_keeps_the_alone_rows_that_have_no_snr(tmp_path, capsys):
    import model_tables
    scores = write_scores(tmp_path / 'scores.csv', 'm', [('snr0/a', 0, 1.0), ('snr5/a', 5, 3.0)])
    assert model_tables.main([scores]) == 0
    out = capsys.readouterr().out
    assert '| +0 dB | m | 1 | 1.00 |' in out and '| speech alone | m | 1 | 40.0 dB |' in out


def test_a_file_of_the_ideal_mask_alone_is_named_as_such(tmp_path, capsys):
    base = write_scores(tmp_path / 'base.csv', 'm', [('snr0/a', 0, 1.0)])
    oracle = write_scores(tmp_path / 'oracle.csv', 'oracle-irm', [('snr0/a', 0, 1.0)])
    assert 'oracle.csv: no model\'s mixture rows' in refusal([oracle, base], capsys)


def test_model_tables_refuses_a_label_the_file_does_not_have(tmp_path, capsys):
    import model_tables
    scores = write_scores(tmp_path / 'scores.csv', 'unet.model', [('snr0/a', 0, 1.0)])
    err = conftest.refusal(model_tables.main, 'model_tables.py',
                           [scores, '--labels', 'unet.modl'], capsys)
    assert '--labels unet.modl: not a method of' in err and 'unet.model' in err


def test_model_tables_groups_half_db_snrs_as_evaluate_py_does(tmp_path, capsys):
    """Python's round sent 2.5 dB to +2 and 3.5 dB to +4."""
    import model_tables
    scores = write_scores(tmp_path / 'scores.csv', 'm', [('a', 2.5, 1.0), ('b', 3.5, 3.0)])
    assert model_tables.main([scores]) == 0
    out = capsys.readouterr().out
    assert '| +3 dB | m | 1 | 1.00 |' in out and '| +4 dB | m | 1 | 3.00 |' in out


def test_model_tables_marks_a_mean_over_some_of_the_files_as_evaluate_py_does(tmp_path,
                                                                              capsys):
    """A mean or worst over k of the n files its metric applies to reads
    "value (k/n)" in evaluate.py's summary; model_tables.py had shown the
    value alone (and, for speech or music alone, k as the files)."""
    import model_tables
    path = str(tmp_path / 'scores.csv')
    with open(path, 'w', newline='') as handle:
        writer = csv.DictWriter(handle, fieldnames=evaluate.CSV_COLUMNS, restval='')
        writer.writeheader()
        for name, gain, pesq in (('a', 1.0, 2.0), ('b', 3.0, ''), ('c', 'nan', 3.0)):
            writer.writerow({'name': name, 'method': 'm', 'snr_db': 10, 'si_sdri': gain,
                             'pesq': pesq, 'stoi': 0.5})
        for name, passthrough in (('x', 40.0), ('y', 'nan')):
            writer.writerow({'name': name, 'method': 'm', 'condition': 'speech alone',
                             'passthrough': passthrough})
    assert model_tables.main([path]) == 0
    out = capsys.readouterr().out
    assert '| +10 dB | m | 3 | 2.00 (2/3) | 1.00 (2/3) | 2.50 (2/3) | 0.500 |' in out
    assert '| speech alone | m | 2 | 40.0 dB (1/2) | 40.0 dB (1/2) |' in out
    assert '| m | nan | 2.00 (2/3) | 1.00 (2/3) | 40.0 (1/2) | 40.0 (1/2) | nan |' in out
