"""make_separate.py --passage-report: one CSV row per passage of every
input, with the speech and music estimates' levels there and how the
passage was written.

``--report`` says which recordings had music under them; this says where.
A researcher cleaning a corpus keeps the stretches whose
``speech_to_music_db`` is high (speech with little or no music under it),
a subtitler finds where the music comes in. The passages are those
``--keep-clean`` and ``--gate-music`` judge (``--passage`` seconds from the
start of each file, a short tail joined to the passage before it), so
``written`` says what each judged passage became.

A run holds none of the rows in memory: each process writes the rows of
every input it separates to a spool (``Spool``), a hidden file beside the
report, and the report is merged from the spools and the rows an earlier
report kept for the inputs skipped (``write``), however many and long the
inputs are. The spools go only once the report is written: those of a run
stopped before that (killed, or interrupted while writing it) hold the rows
of inputs whose outputs it wrote, which a ``--skip-existing`` run then
skips, so the next run writing the report takes their rows as it takes the
earlier report's (``earlier_inputs``).
"""
import csv
import heapq
import io
import os
import re
import secrets
import sys

import cli
import passage_gate
import separation_report
import util

COLUMNS = ('input', 'start_s', 'end_s', 'speech_db', 'music_db', 'speech_to_music_db',
           'written')
OPTION = '--passage-report'


def spans(gate, rate):
    """``[(start, end, speech, music, mixture, kind)]`` of the passages a
    spent ``passage_gate.PassageGate`` cut from a stream at ``rate`` Hz:
    their bounds in seconds, their estimates' energies and their kind."""
    return [(start / rate, (start + length) / rate) + energies + (kind,)
            for (start, length, kind), energies in zip(gate.decisions, gate.energies)]


def rows(source, passages, turned_down=False):
    """The report rows (dicts of ``COLUMNS``) of input ``source`` for its
    ``spans``: levels in dB relative to the passage's mixture and to each
    other (``separation_report.ratio_db``; NaN for two silences).
    ``turned_down``: the passages of music alone were written turned down
    (--music-level) rather than as silence."""
    written = dict(WRITTEN, **({passage_gate.MUSIC: TURNED_DOWN} if turned_down else {}))
    return [{'input': source, 'start_s': start, 'end_s': end,
             'speech_db': separation_report.ratio_db(speech, mixture),
             'music_db': separation_report.ratio_db(music, mixture),
             'speech_to_music_db': separation_report.ratio_db(speech, music),
             'written': written[kind]}
            for start, end, speech, music, mixture, kind in passages]


# how each kind of passage was written, in the report's words; music alone
# with --music-level: the mixture turned down as the music under the voice
WRITTEN = {passage_gate.SEPARATED: 'separated', passage_gate.CLEAN: 'as it came in',
           passage_gate.MUSIC: 'as silence'}
TURNED_DOWN = 'turned down'
WRITTEN_WORDS = set(WRITTEN.values()) | {TURNED_DOWN}


def check(path, overwrite, audio=(), report=None):
    """Refuse ``--passage-report`` ``path`` before any work, as
    ``separation_report.check`` does, and where it is the ``--report``
    file too."""
    if report and path != '-' and os.path.realpath(path) == os.path.realpath(report):
        raise cli.UserError('{} {}: is the --report file too; give each its own '
                            'file'.format(OPTION, path))
    separation_report.check(path, overwrite, audio, option=OPTION)


def previous(path, seconds):
    """The inputs earlier runs have rows of in the passage report at
    ``path`` (``earlier_inputs``: the report, and the spools of runs
    stopped before they wrote it; none if there are neither), for the
    inputs --skip-existing leaves out; ``cli.UserError`` if the file is not
    such a report, or if their passages are not ``seconds`` long
    (``--passage`` changed between the runs: the kept rows would lie on
    another grid than the new ones), naming the spool that has them."""
    found = earlier_inputs(path)
    for source, (stored, entries) in sorted(found.items()):
        length = passage_length(entries)
        if length is not None and abs(length - seconds) > GRID_TOLERANCE_S:
            where = '' if stored == path else ' (in {}, which a stopped run left)'.format(stored)
            raise cli.UserError(
                '{} {}: its passages of {}{} are {:g} s long and this run\'s --passage is '
                '{:g} s; give --passage {:g} as before, or a new report file'.format(
                    OPTION, path, source, where, length, seconds, length))
    return set(found)


def earlier_inputs(path, exclude=(), check=True):
    """``{input: (file, entries)}`` of the inputs that earlier runs have
    rows of in report ``path``: for each, the newest of the files that hold
    such rows (``earlier_files``) that has it, and its first two rows there
    (dicts of ``COLUMNS``). Only each input's first two rows are held.
    ``exclude``: spools of this run; ``check``: as ``stored_rows``."""
    found = {}
    for stored in earlier_files(path, exclude):       # oldest first: the newest has the say
        firsts = {}
        for entry in stored_rows(stored, path, check):
            entries = firsts.setdefault(entry['input'], [])
            if len(entries) < 2:
                entries.append(entry)
        found.update((source, (stored, entries)) for source, entries in firsts.items())
    return found


def earlier_files(path, exclude=()):
    """The files holding rows of earlier runs of report ``path``, oldest
    (last changed) first: the report, and the spools that runs stopped
    before they wrote it left (``leftover_spools``; not those in
    ``exclude``)."""
    stored = ([path] if os.path.isfile(path) else []) + leftover_spools(path, exclude)
    return sorted(stored, key=_changed)


def _changed(path):
    """When ``path`` last changed (seconds since the epoch; 0 if it is gone)."""
    try:
        return os.path.getmtime(path)
    except OSError:
        return 0.0


def leftover_spools(path, exclude=()):
    """The spool files (``Spool``) of report ``path`` whose processes are
    gone: runs killed, or stopped while they wrote the report, before the
    spools' rows reached it. ``exclude``: spools of this run (under
    mpiexec, ranks on other machines run under PIDs this one cannot see)."""
    folder = os.path.dirname(path)
    try:
        names = sorted(os.listdir(folder or '.'))
    except OSError:
        return []
    ours = {os.path.realpath(p) for p in exclude}
    found = []
    for name in names:
        pid = spool_pid(path, name)
        spool = os.path.join(folder, name)
        if pid is not None and os.path.isfile(spool) and not os.path.islink(spool) \
                and os.path.realpath(spool) not in ours \
                and (pid == os.getpid() or not util.process_exists(pid)):   # a PID given again
            found.append(spool)
    return found


def spool_path(report, rank, token, pid=None):
    """The spool (``Spool``) of report ``report`` that process ``pid``
    (None: this one), ``rank`` under mpiexec, writes with the random hex
    ``token``: ``util.temporary_path``'s hidden name for REPORT.passages
    (``SPOOL_TAG``; cut short and hashed where long), then the rank, the
    token and ``SPOOL_SUFFIX``. The rank is outside the part hashed, so
    that ``spool_pid`` can name again any spool it reads."""
    return util.temporary_path(report + SPOOL_TAG, '.rank{}.{}{}'.format(
        rank, token, SPOOL_SUFFIX), pid)


def spool_pid(report, name):
    """The PID in ``name`` where it is the name of a spool of report
    ``report`` (``spool_path``, or the .REPORT.passages.rankR.PID.TOKEN.spool
    of earlier versions), else None."""
    found = _SPOOL.match(name)
    if found and os.path.basename(spool_path(report, found.group(2), found.group(3),
                                             found.group(1))) == name:
        return int(found.group(1))
    found = re.match(r'^{}\.rank\d+\.(\d+)(?:\.[0-9a-f]{{8}})?{}$'.format(
        re.escape('.' + os.path.basename(report) + SPOOL_TAG), re.escape(SPOOL_SUFFIX)), name)
    return int(found.group(1)) if found else None


def stored_rows(stored, path, check=True):
    """The rows (dicts of ``COLUMNS``) of ``stored``: the report ``path``
    itself, or a spool of it, of whose rows those that are not whole (a
    killed process's last, cut short) are left out. ``check``: refuse a
    report that is not one (``cli.UserError``), as ``previous`` does before
    any work; without, its rows stream through one at a time."""
    if stored == path and check:
        yield from separation_report.read_table(path, COLUMNS, OPTION,
                                                'a make_separate.py passage report')
        return
    if stored == path:
        with util.open_csv(path) as handle:
            yield from csv.DictReader(handle)
        return
    for cells in spooled(stored):
        if len(cells) == len(COLUMNS) and cells[-1] in WRITTEN_WORDS:
            yield dict(zip(COLUMNS, cells))


# the report's bounds are written to 0.01 s, so a passage's length read
# back is off by up to that
GRID_TOLERANCE_S = 0.015


def passage_length(entries):
    """Seconds of the first passage of one input's report rows, or None
    where it is the only one (the whole file, however long the passages
    were) or its bounds are not numbers."""
    if len(entries) < 2:
        return None
    try:
        return float(entries[0]['end_s']) - float(entries[0]['start_s'])
    except ValueError:
        return None


class Spool:
    """The passage rows of the inputs one process separates, written as CSV
    cells to ``path`` as each input is done, in the order the process takes
    its inputs (the plan's, sorted by name). ``path`` is a hidden file
    beside the report, ``.REPORT.passages.PID.rankR.TOKEN.spool``
    (``spool_path``: ``SPOOL_TAG``, the process's ``rank`` under mpiexec, so that ranks on
    machines sharing the folder never share a name, a random ``TOKEN``, so
    that a later process given the same PID, as in a restarted container,
    never takes it for its own, ``SPOOL_SUFFIX``), which ``write`` removes
    once the report is written. A run stopped before that leaves it, not to
    be removed as a stale temporary: the next run writing the report takes
    its rows (``leftover_spools``). Each input's rows reach the file as
    they are added, so that a killed process loses none it had finished."""

    def __init__(self, report, rank=0):
        self.report = report
        self.path = spool_path(report, rank, secrets.token_hex(4))
        with util.writing(report):
            self.handle = util.open_csv(self.path, 'x')

    def add(self, file_rows):
        """Write one input's ``rows`` (dicts of ``COLUMNS``) through to the
        file, in one write."""
        text = io.StringIO()
        csv.writer(text).writerows([cells(r) for r in file_rows])
        with util.writing(self.report):
            self.handle.write(text.getvalue())
            self.handle.flush()

    def close(self):
        with util.writing(self.report):
            self.handle.close()


SPOOL_TAG = '.passages'
SPOOL_SUFFIX = '.spool'         # in place of util.temporary_path's .partial
# .NAME.PID.rankR.TOKEN.spool (spool_path): the PID, rank and token
_SPOOL = re.compile(r'^\..+\.(\d+)\.rank(\d+)\.([0-9a-f]{{8}}){}$'.format(re.escape(SPOOL_SUFFIX)))


def cells(row):
    """A report row (dict of ``COLUMNS``) as the report's CSV cells: levels
    to 0.01, NaN as an empty cell."""
    return [util.table_cell(row[k], digits=2, nan='') for k in COLUMNS]


def write(path, spools, kept=(), replaced=True):
    """The report at ``path``, written atomically: the rows of the spool
    files ``spools`` (``Spool.path``), and the rows earlier runs have of the
    inputs ``kept`` (those --skip-existing left out): the report already at
    ``path``, or the spools of runs stopped before they wrote it, the newest
    of them for each input (``earlier_inputs``); merged in the order of
    their inputs. Each spool and the earlier report are in that order
    already, so the rows stream through one at a time.

    Once the report is written, and only then, ``spools`` are removed, and
    the earlier runs' spools with them where ``replaced`` (their rows kept,
    or the report replaced: --skip-existing, --overwrite). Where writing
    fails or is interrupted they stay, and the next run takes their rows."""
    found = earlier_inputs(path, spools, check=False) if kept else {}
    chosen = {}          # earlier file -> the kept inputs whose rows it gives
    for source in kept:
        if source in found:
            chosen.setdefault(found[source][0], set()).add(source)
    lost = [source for source in kept if source not in found]
    if lost:
        print('warning: --passage-report {}: no rows of {} input{} whose outputs were kept '
              '({}{}): the run that separated them was stopped before it wrote them; '
              'separate {} again (--overwrite) for {}'.format(
                  path, len(lost), cli.plural(len(lost)), ', '.join(lost[:2]),
                  ', ...' if len(lost) > 2 else '', 'it' if len(lost) == 1 else 'them',
                  'its rows' if len(lost) == 1 else 'their rows'), file=sys.stderr)
    leftovers = leftover_spools(path, spools) if replaced else []
    with util.replacing(path) as tmp:
        with util.open_csv(tmp, 'w') as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            streams = [spooled(p) for p in spools] + [
                earlier_rows(stored, path, sources) for stored, sources in chosen.items()]
            for entry in heapq.merge(*streams, key=lambda cells: cells[0]):
                writer.writerow(entry)
    for spool in list(spools) + leftovers:
        if os.path.isfile(spool):
            os.remove(spool)


def spooled(spool):
    """The rows (lists of cells) of the spool file ``spool``, one at a time."""
    with util.open_csv(spool) as handle:
        yield from csv.reader(handle)


def earlier_rows(stored, path, kept):
    """The rows (lists of cells) of ``stored``, report ``path`` or a spool
    of it (``stored_rows``), whose input is in ``kept``, one at a time."""
    for entry in stored_rows(stored, path, check=False):
        if entry['input'] in kept:
            yield [entry[k] for k in COLUMNS]
