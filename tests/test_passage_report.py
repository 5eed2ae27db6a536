"""make_separate.py --passage-report: a row per passage of each input with
its bounds, the speech and music estimates' levels there and how it was
written."""
import glob
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import make_separate
import passage_report
from conftest import energy, harmonic_stack, high_noise, low_band_mask, read_rows, tone, write

SR = 16000


def db(ratio):
    return 10 * math.log10(ratio)


@pytest.fixture
def band_separator(monkeypatch):
    """Separation by a fixed mask: speech below 2 kHz, music above."""
    monkeypatch.setattr(make_separate, 'load_separator', lambda *a, **k: make_separate.Separator(
        low_band_mask, shifts=1, speeds=()))


def show(folder, name='show.wav'):
    """4 s of music alone (above 3 kHz), 4 s of a voice under it, 2.8 s of
    the voice over a hiss 40 dB down: ``(path, voice, music)``."""
    voice = np.concatenate([np.zeros(4 * SR, np.float32), harmonic_stack(6.8)])
    music = np.concatenate([high_noise(8.0), 0.01 * high_noise(2.8, seed=2)])
    return write(folder / name, voice + music), voice, music


def test_passage_report_says_where_the_music_is_and_changes_no_output(tmp_path,
                                                                      band_separator):
    """Without a threshold every passage is separated and the outputs are
    those of a run without the report; each row's levels are those of the
    written estimates over its span; the last passage takes the short
    tail (0.8 s of 2 s passages joins the passage before it)."""
    source, _, _ = show(tmp_path)
    plain = str(tmp_path / 'plain.wav')
    assert make_separate.main(['-i', source, '-o', plain]) == 0
    out, residual, table = (str(tmp_path / n) for n in ('speech.wav', 'music.wav', 'p.csv'))
    assert make_separate.main(['-i', source, '-o', out, '--music-out', residual,
                               '--passage', '2', '--passage-report', table]) == 0
    speech = sf.read(out, dtype='float32')[0]
    music = sf.read(residual, dtype='float32')[0]
    np.testing.assert_array_equal(speech, sf.read(plain, dtype='float32')[0])
    rows = read_rows(table)
    assert [(r['start_s'], r['end_s']) for r in rows] == [
        ('0.00', '2.00'), ('2.00', '4.00'), ('4.00', '6.00'), ('6.00', '8.00'),
        ('8.00', '10.80')]
    assert {r['input'] for r in rows} == {source}
    assert {r['written'] for r in rows} == {'separated'}
    for r in rows:
        span = slice(round(float(r['start_s']) * SR), round(float(r['end_s']) * SR))
        s, m = energy(speech[span]), energy(music[span])
        expected = (db(s / energy(speech[span] + music[span])),
                    db(m / energy(speech[span] + music[span])), db(s / m))
        got = tuple(float(r[k]) for k in ('speech_db', 'music_db', 'speech_to_music_db'))
        np.testing.assert_allclose(got, expected, atol=0.011)
    ratios = [float(r['speech_to_music_db']) for r in rows]
    assert max(ratios[:2]) < -20                 # music alone
    assert -10 < min(ratios[2:4]) and max(ratios[2:4]) < 10     # a voice under the music
    assert ratios[4] > 20                        # the voice over a hiss


def test_passage_report_says_how_each_passage_was_written(tmp_path, band_separator,
                                                          capsys):
    source, _, _ = show(tmp_path)
    table = str(tmp_path / 'p.csv')
    assert make_separate.main(['-i', source, '-o', str(tmp_path / 'speech.wav'),
                               '--gate-music', '20', '--keep-clean', '10', '--passage', '2',
                               '--passage-report', table]) == 0
    assert [r['written'] for r in read_rows(table)] == [
        'as silence', 'as silence', 'separated', 'separated', 'as it came in']
    assert '# passage report: ' + table + ' (per 2 s passage)' in capsys.readouterr().out


def test_music_alone_turned_down_is_not_called_silence(tmp_path, band_separator, capsys):
    """--gate-music with --music-level -15 writes the passages of music
    alone as the mixture 15 dB down, not as silence: the settings, the
    summary, the --report note and the passage report say so (they had all
    said "as silence")."""
    source, _, _ = show(tmp_path)
    out, report, table = (str(tmp_path / n) for n in ('speech.wav', 'r.csv', 'p.csv'))
    assert make_separate.main(['-i', source, '-o', out, '--gate-music', '20', '--music-level',
                               '-15', '--passage', '2', '--report', report,
                               '--passage-report', table]) == 0
    printed = capsys.readouterr().out
    speech, mixture = sf.read(out, dtype='float32')[0], sf.read(source, dtype='float32')[0]
    intro = slice(0, round(3.9 * SR))
    np.testing.assert_allclose(speech[intro], 10 ** (-15 / 20) * mixture[intro], atol=1e-5)
    assert 'silence' not in printed + open(report).read() + open(table).read()
    assert '# music alone: written 15 dB down above 20 dB music to speech' in printed
    assert '; 4.0 s of music alone written 15 dB down, 0 files whole' in printed
    assert read_rows(report)[0]['note'] == ('music alone in 2 of 5 passages (4.0 s): written '
                                            '15 dB down (--gate-music, --music-level)')
    assert [r['written'] for r in read_rows(table)] == ['turned down'] * 2 + ['separated'] * 3


def test_folder_run_reports_the_passages_of_the_files_it_separated(tmp_path, band_separator):
    """A file that fails has no rows; the others are listed in the order
    of their names, each from 0 s; a resumed run keeps the rows of the
    files it skips, and a report that did not list them leaves them out."""
    folder = tmp_path / 'in'
    show(folder, 'b_show.wav')
    write(folder / 'a_tone.wav', tone(3.0))
    (folder / 'c_junk.wav').write_text('not audio')
    table = str(tmp_path / 'p.csv')
    run = ['-i', str(folder), '-o', str(tmp_path / 'out'), '--passage-report', table]
    assert make_separate.main(run) == 1                     # c_junk.wav failed
    first = read_rows(table)
    names = [r['input'].rsplit('/', 1)[1] for r in first]
    assert names == ['a_tone.wav'] + ['b_show.wav'] * 2     # 5 s passages
    assert [(r['start_s'], r['end_s']) for r in first] == [
        ('0.00', '3.00'), ('0.00', '5.00'), ('5.00', '10.80')]
    (folder / 'c_junk.wav').unlink()
    write(folder / 'd_tone.wav', tone(1.0))
    assert make_separate.main(run + ['--skip-existing']) == 0
    second = read_rows(table)
    assert second[:3] == first
    assert [r['input'].rsplit('/', 1)[1] for r in second[3:]] == ['d_tone.wav']
    fresh = str(tmp_path / 'fresh.csv')
    assert make_separate.main(run[:-1] + [fresh, '--skip-existing']) == 0
    assert read_rows(fresh) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.')]    # no spool left


def test_a_resumed_run_with_other_passages_is_refused(tmp_path, band_separator, capsys):
    """The rows kept for the skipped files would lie on another grid than
    the new ones: refused in one line naming both lengths, the report and
    the outputs untouched; the same --passage resumes."""
    folder = tmp_path / 'in'
    show(folder, 'b_show.wav')
    table = tmp_path / 'p.csv'
    run = ['-i', str(folder), '-o', str(tmp_path / 'out'), '--passage-report', str(table),
           '--passage', '2']
    assert make_separate.main(run) == 0
    before = table.read_text()
    write(folder / 'c_tone.wav', tone(1.0))
    capsys.readouterr()
    assert make_separate.main(run[:-1] + ['2.5', '--skip-existing']) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'are 2 s long' in err[0] and "--passage is 2.5 s" in err[0]
    assert '--passage 2 as before' in err[0]
    assert table.read_text() == before
    assert not (tmp_path / 'out' / 'c_tone.wav').exists()
    assert make_separate.main(run + ['--skip-existing']) == 0
    assert read_rows(table)[-1]['input'].endswith('c_tone.wav')


@pytest.mark.parametrize('case', ['whole-file', 'same-as-report', 'exists', 'folder',
                                  'stdout', 'output', 'bad-old-report'])
def test_a_passage_report_that_cannot_be_written_is_refused_before_any_work(
        tmp_path, band_separator, capsys, case):
    source = write(tmp_path / 'mix.wav', tone(1.0))
    out = tmp_path / 'out.wav'
    table = {'whole-file': tmp_path / 'p.csv', 'same-as-report': tmp_path / 'r.csv',
             'exists': tmp_path / 'old.csv', 'folder': tmp_path, 'stdout': '-',
             'output': out, 'bad-old-report': tmp_path / 'old.csv'}[case]
    extra = {'whole-file': ['--passage', 'file', '--gate-music', '30'],
             'same-as-report': ['--report', str(tmp_path / 'r.csv')],
             'bad-old-report': ['--skip-existing']}.get(case, [])
    if case in ('exists', 'bad-old-report'):
        table.write_text('name,score\nx,1\n')
    assert make_separate.main(['-i', source, '-o', str(out), '--passage-report', str(table)]
                              + extra) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert ('--passage file' if case == 'whole-file' else '--passage-report') in err
    assert not out.exists()
    if case in ('exists', 'bad-old-report'):
        assert table.read_text() == 'name,score\nx,1\n'


def test_rows_of_two_silences_leave_the_levels_empty():
    """A silent passage has no levels: NaN, written as an empty cell."""
    row, = passage_report.rows('in.wav', [(0.0, 5.0, 0.0, 0.0, 0.0, 'separated')])
    assert row['written'] == 'separated'
    assert all(math.isnan(row[k]) for k in ('speech_db', 'music_db', 'speech_to_music_db'))


def test_report_merges_spools_and_kept_rows_in_the_order_of_the_inputs(tmp_path):
    """Two processes' spools (inputs taken in turn) and an earlier report's
    rows of a skipped input come out as one report in input order, each
    input's passages in time order; the earlier rows of inputs not kept
    are dropped, and the spools are removed."""
    table = str(tmp_path / 'p.csv')

    def passages(source, count):
        return passage_report.rows(source, [(5.0 * k, 5.0 * k + 5, 1.0, 0.1, 1.1, 'separated')
                                            for k in range(count)])

    spools = [passage_report.Spool(table, rank) for rank in range(2)]
    for spool, sources in zip(spools, (('in/a.wav', 'in/c.wav'), ('in/b.wav', 'in/d.wav'))):
        for source in sources:
            spool.add(passages(source, 2))
        spool.close()
    earlier = [passages('in/b0.wav', 3), passages('in/z.wav', 1)]
    passage_report.util.write_table(table, passage_report.COLUMNS,
                                    [r for rows in earlier for r in rows], digits=2, nan='')
    passage_report.write(table, [s.path for s in spools], kept=['in/b0.wav'])
    rows = read_rows(table)
    assert [(r['input'], r['start_s']) for r in rows] == [
        ('in/a.wav', '0.00'), ('in/a.wav', '5.00'), ('in/b.wav', '0.00'), ('in/b.wav', '5.00'),
        ('in/b0.wav', '0.00'), ('in/b0.wav', '5.00'), ('in/b0.wav', '10.00'),
        ('in/c.wav', '0.00'), ('in/c.wav', '5.00'), ('in/d.wav', '0.00'), ('in/d.wav', '5.00')]
    assert rows[0]['speech_to_music_db'] == '10.00' and rows[0]['written'] == 'separated'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['p.csv']


def _dead_pid():
    child = subprocess.Popen([sys.executable, '-c', 'pass'])
    child.wait()
    return child.pid


def _as_exited(table):
    """The spools this process left beside ``table``, renamed as if their
    process had exited (a rerun is another process): their paths."""
    dead = _dead_pid()
    spools = glob.glob(os.path.join(os.path.dirname(table), '.*.spool'))
    for spool in spools:
        os.rename(spool, spool.replace('.{}.'.format(os.getpid()), '.{}.'.format(dead)))
    return spools


def test_ctrl_c_while_the_report_is_written_loses_no_passage(tmp_path, band_separator,
                                                             monkeypatch):
    """Ctrl-C while the rows are merged: the outputs are all written, so a
    --skip-existing rerun skips every input; the spool stays and the rerun
    takes its rows (they had been removed, and the rerun wrote a report of
    its header alone without a word), then removes it."""
    folder = tmp_path / 'in'
    show(folder, 'b_show.wav')
    write(folder / 'a_tone.wav', tone(3.0))
    table = str(tmp_path / 'p.csv')
    run = ['-i', str(folder), '-o', str(tmp_path / 'out'), '--passage-report', table]
    assert make_separate.main(run[:-1] + [str(tmp_path / 'whole.csv')]) == 0
    expected = read_rows(str(tmp_path / 'whole.csv'))
    merge = passage_report.heapq.merge

    def interrupted(*streams, **keys):
        for count, entry in enumerate(merge(*streams, **keys)):
            if count == 1:
                raise KeyboardInterrupt
            yield entry
    monkeypatch.setattr(passage_report.heapq, 'merge', interrupted)
    assert make_separate.main(run + ['--overwrite']) == 130
    monkeypatch.setattr(passage_report.heapq, 'merge', merge)
    assert not os.path.exists(table)
    assert len(_as_exited(table)) == 1
    assert make_separate.main(run + ['--skip-existing']) == 0
    assert read_rows(table) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ['in', 'out', 'p.csv', 'whole.csv']


def test_spools_left_by_stopped_runs_give_their_rows_to_the_next_report(tmp_path):
    """The newest file that has an input's rows gives them: a spool left
    after the report was written gives its inputs' rows over the report's,
    its last row cut short (a killed process's) is left out, and once the
    report is written the spools left are gone; a live process's spool,
    and this run's own, are not taken for left."""
    table = str(tmp_path / 'p.csv')

    def passages(source, count, speech=1.0):
        return passage_report.rows(source, [(5.0 * k, 5.0 * k + 5, speech, 0.1, 1.1,
                                             'separated') for k in range(count)])

    old = passages('in/a.wav', 2) + passages('in/b.wav', 1)
    passage_report.util.write_table(table, passage_report.COLUMNS, old, digits=2, nan='')
    os.utime(table, (1e9, 1e9))
    dead = _dead_pid()
    left = str(tmp_path / '.p.csv.passages.rank0.{}.spool'.format(dead))   # as named before
    with open(left, 'w') as handle:
        handle.write('in/a.wav,0.00,5.00,-0.04,-20.04,20.00,separated\r\n'
                     'in/a.wav,5.00,10.00,-0.04,-20.04,20.00,separated\r\n'
                     'in/c.wav,0.00,5.00,-0.4')
    live = str(tmp_path / '.p.csv.passages.rank1.{}.spool'.format(os.getppid()))
    with open(live, 'w') as handle:
        handle.write('in/z.wav,0.00,5.00,-0.41,-10.41,10.00,separated\r\n')
    assert passage_report.previous(table, 5.0) == {'in/a.wav', 'in/b.wav'}
    mine = passage_report.Spool(table)
    mine.add(passages('in/d.wav', 1, speech=4.0))
    mine.close()
    passage_report.write(table, [mine.path], kept=['in/a.wav', 'in/b.wav'])
    rows = read_rows(table)
    assert [(r['input'], r['start_s'], r['speech_to_music_db']) for r in rows] == [
        ('in/a.wav', '0.00', '20.00'), ('in/a.wav', '5.00', '20.00'),   # the spool's
        ('in/b.wav', '0.00', '10.00'), ('in/d.wav', '0.00', '16.02')]
    assert not os.path.exists(left) and not os.path.exists(mine.path)
    assert os.path.exists(live)


def test_a_spool_holds_each_inputs_rows_as_soon_as_they_are_added(tmp_path):
    """The rows sat in an 8 kB buffer: a killed run lost the rows of inputs
    whose outputs it had written, and one input's rows could be cut short."""
    table = str(tmp_path / 'p.csv')
    spool = passage_report.Spool(table)
    spool.add(passage_report.rows('in/a.wav', [(0.0, 5.0, 1.0, 0.1, 1.1, 'separated')]))
    with open(spool.path) as handle:                     # not closed: as a killed run left it
        assert handle.read().startswith('in/a.wav,0.00,5.00,')
    spool.close()


def test_a_spool_of_an_earlier_process_with_this_pid_is_a_leftover(tmp_path):
    """In a restarted container a rerun gets the killed run's PID again: its
    spool was taken for the live run's own, and the new spool, of the same
    name, emptied it."""
    table = str(tmp_path / 'p.csv')
    before = passage_report.Spool(table)
    before.add(passage_report.rows('in/a.wav', [(0.0, 5.0, 1.0, 0.1, 1.1, 'separated')]))
    before.close()
    mine = passage_report.Spool(table)
    assert mine.path != before.path
    assert passage_report.leftover_spools(table, [mine.path]) == [before.path]
    mine.close()
    passage_report.write(table, [mine.path], kept=['in/a.wav'])
    assert [r['input'] for r in read_rows(table)] == ['in/a.wav']


def test_kept_inputs_without_rows_are_named(tmp_path, capsys):
    table = str(tmp_path / 'p.csv')
    mine = passage_report.Spool(table)
    mine.close()
    passage_report.write(table, [mine.path], kept=['in/a.wav'])
    err = capsys.readouterr().err
    assert 'no rows of 1 input whose outputs were kept (in/a.wav)' in err


def test_a_report_of_a_long_name_gets_a_spool_it_can_create(tmp_path):
    """The spool's name was the temporary's with .partial swapped for a
    longer ending, past the 255 bytes a name may have from 230 characters."""
    spool = passage_report.Spool(str(tmp_path / ('r' * 240 + '.csv')))
    spool.close()
    assert os.path.isfile(spool.path) and spool.path.endswith('.spool')
    assert len(os.fsencode(os.path.basename(spool.path))) <= 255


def test_the_spool_of_a_long_report_name_is_found_by_the_next_run(tmp_path):
    """Past about 209 bytes a report's spool gets a shortened, hashed name,
    which the pick-up of a stopped run's spools (the un-hashed pattern)
    never found: its rows were lost and the spool left behind."""
    table = str(tmp_path / ('r' * 230 + '.csv'))
    before = passage_report.Spool(table, rank=3)
    before.add(passage_report.rows('in/a.wav', [(0.0, 5.0, 1.0, 0.1, 1.1, 'separated'),
                                                (5.0, 10.0, 1.0, 0.1, 1.1, 'separated')]))
    before.close()
    assert '~' in os.path.basename(before.path)             # the hashed name
    assert passage_report.previous(table, 5.0) == {'in/a.wav'}
    mine = passage_report.Spool(table)
    mine.close()
    assert passage_report.leftover_spools(table, [mine.path]) == [before.path]
    other = passage_report.Spool(str(tmp_path / ('r' * 230 + '.tsv')))   # another report's
    other.close()
    passage_report.write(table, [mine.path], kept=['in/a.wav'])
    assert [r['input'] for r in read_rows(table)] == ['in/a.wav', 'in/a.wav']
    assert not os.path.exists(before.path) and os.path.exists(other.path)


def test_a_leftover_spool_of_other_passages_is_named_in_the_refusal(tmp_path):
    """The refusal named only the report, which need not exist: the file
    whose passages are of another length is the spool a stopped run left."""
    table = str(tmp_path / 'p.csv')
    left = passage_report.Spool(table)
    left.add(passage_report.rows('in/a.wav', [(0.0, 2.0, 1.0, 0.1, 1.1, 'separated'),
                                              (2.0, 4.0, 1.0, 0.1, 1.1, 'separated')]))
    left.close()
    with pytest.raises(passage_report.cli.UserError) as refusal:
        passage_report.previous(table, 5.0)
    assert left.path in str(refusal.value) and 'are 2 s long' in str(refusal.value)
