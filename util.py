"""Audio and STFT helpers shared by the scripts.

Everything here works on mono float32 signals at ``const.SR`` (16 kHz) unless
a rate is named. Spectrograms are ``(513, frames)`` arrays: ``const.N_BINS``
rfft bins of ``const.FFT_SIZE``-sample periodic-Hann frames, ``const.H``
samples apart, centred (frame ``t`` is centred on sample ``t * H``), so a
signal of ``n`` samples has ``1 + n // H`` frames (``librosa.stft``, zero-padded).

Long signals are handled as streams of blocks: ``read_blocks`` ->
``Resampler`` -> ``StreamingSTFT`` -> ``PatchMasker`` -> ``StreamingISTFT``
keep only a few seconds of audio in memory whatever the input's length.
"""
import contextlib
import csv
import functools
import hashlib
import io
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
import time
import warnings

import librosa
import numpy as np
import soundfile as sf
import soxr

import const


class AudioError(Exception):
    """An audio file that cannot be used; the message names the file."""


class OutputError(AudioError):
    """A file that cannot be written (folder missing or read-only, disk
    full...); the message names the file. Fatal where bad inputs are not."""


def check_free_space(needs):
    """Refuse, before any work, outputs that cannot fit: ``needs`` lists
    ``(path, bytes)``, the least each output will take on disk while it is
    written; their sums per disk (the disk of each path's folder; one
    that does not exist is left to the writing to report) are set against
    the space free there. Raises ``OutputError`` naming the first path on
    a disk that falls short. A folder that cannot be written to, or a file
    system of no size (``/proc``), is left to the writing to report."""
    per_disk = {}
    for path, size in needs:
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            continue
        disk = os.stat(folder).st_dev
        first, total = per_disk.get(disk, (path, 0))
        per_disk[disk] = (first, total + size)
    for path, total in per_disk.values():
        folder = os.path.dirname(os.path.abspath(path))
        usage = shutil.disk_usage(folder)
        if usage.total == 0 or not os.access(folder, os.W_OK):
            continue        # /proc and the like, or read-only: the writing says so
        free = usage.free
        if free < total:
            raise OutputError('{}: not enough disk space: writing it takes at least {} there '
                              '(32-bit float samples while it is made), and {} is '
                              'free'.format(path, byte_size(total), byte_size(free)))


def free_bytes(path):
    """Bytes free on the disk of ``path``'s folder; None where that folder
    does not exist (the writing then names what is wrong)."""
    folder = os.path.dirname(os.path.abspath(path))
    return shutil.disk_usage(folder).free if os.path.isdir(folder) else None


def byte_size(count):
    """``count`` bytes in words: '512 bytes', '3.2 MB', '1.4 GB' (powers of 1000)."""
    for unit, scale in (('GB', 1e9), ('MB', 1e6), ('kB', 1e3)):
        if count >= scale:
            return '{:.1f} {}'.format(count / scale, unit)
    return '{} bytes'.format(int(count))


@contextlib.contextmanager
def writing(path):
    """Turn an OS or libsndfile failure while writing ``path`` into ``OutputError``."""
    try:
        yield
    except (OSError, sf.SoundFileError) as err:
        reason = getattr(err, 'strerror', None) or _short_reason(err)
        if reason.startswith("'") and "': " in reason:      # libsndfile names the temp file
            reason = reason.split("': ", 1)[1]
        raise OutputError('{}: cannot write ({})'.format(path, reason)) from None


# --------------------------------------------------------------------------
# Reading and writing

def audio_info(path):
    """Open ``path`` far enough to know its rate and length.

    Returns the ``soundfile.info`` record (``samplerate`` in Hz, ``frames``
    in samples per channel, ``channels``). Raises ``AudioError`` naming the
    file when it is missing, is a folder or not a regular file (a FIFO
    would block), cannot be read (permission denied...) or is not audio
    libsndfile decodes.
    """
    if not os.path.exists(path):
        raise AudioError('{}: no such file'.format(path))
    if os.path.isdir(path):
        raise AudioError('{}: is a folder, not an audio file'.format(path))
    if not os.path.isfile(path):      # opening a FIFO would wait for a writer forever
        raise AudioError('{}: not a regular file (a FIFO, socket or device)'.format(path))
    if not os.access(path, os.R_OK):
        raise AudioError('{}: cannot read (permission denied)'.format(path))
    try:
        with quiet_decoder():
            info = sf.info(sf_path(path))
    except (RuntimeError, sf.LibsndfileError) as err:
        system = _system_reason(err)
        if system:
            raise AudioError('{}: cannot read ({})'.format(path, system)) from None
        reason = _short_reason(err)
        if 'possibly a pipe' in reason:     # libsndfile's word for junk named .mp3
            reason = 'Format not recognised.'
        raise AudioError('{}: not a readable audio file ({})'.format(path, reason)) from None
    if info.format == 'RAW':       # libsndfile's reading of a .au without its header
        raise AudioError('{}: not a readable audio file (no header; libsndfile would read '
                         'its bytes as raw 8 kHz u-law)'.format(path))
    if info.channels <= 0 or info.samplerate <= 0:
        raise AudioError('{}: invalid header (rate {} Hz, {} channels)'.format(
            path, info.samplerate, info.channels))
    if info.samplerate < const.MIN_SAMPLE_RATE:
        raise AudioError('{}: a rate of {} Hz is below the {} Hz this reads (a damaged '
                         'header, or not audio)'.format(path, info.samplerate,
                                                        const.MIN_SAMPLE_RATE))
    if info.format in const.COUNTED_FORMATS:
        claimed = info.frames if length_is_claimed(path, info) else None
        info.frames = counted_frames(path, claimed, info.samplerate)
        info.duration = info.frames / info.samplerate
    return info


def header_subtype(path):
    """The sample format libsndfile reads in ``path``'s header ('PCM_24',
    'FLOAT'...), or None where it cannot read it."""
    try:
        with quiet_decoder():
            return sf.info(sf_path(path)).subtype
    except (RuntimeError, sf.LibsndfileError):
        return None


def length_is_claimed(path, info):
    """Whether ``info.frames`` is a length the file states, against which a
    shorter count means a file cut short (for an Ogg, libsndfile's "unknown"
    too: the last page, which gives the length, is missing). Not for an MP3
    without a Xing, Info or VBRI header: its length is libsndfile's estimate
    from the bitrate and the file's size, which a cut file matches and a
    whole variable-rate one (from a pipe, say) may not."""
    if info.format != 'MP3':
        return True
    try:
        with open(sf_path(path), 'rb') as handle:
            handle.seek(id3_size(handle.read(10)))      # cover art can pass the scan's reach
            head = handle.read(const.MP3_HEADER_SCAN_BYTES)
    except OSError:
        return True
    return any(tag in head for tag in (b'Xing', b'Info', b'VBRI'))


def id3_size(header):
    """Bytes of the ID3v2 tag that an MP3 starting with the 10 bytes
    ``header`` opens with (its header, body and footer), 0 for none: the
    body's size is four 7-bit bytes, a footer flagged by bit 4 of byte 5."""
    if len(header) < 10 or header[:3] != b'ID3' or any(b & 0x80 for b in header[6:10]):
        return 0
    body = 0
    for byte in header[6:10]:
        body = body << 7 | byte
    return 10 + body + (10 if header[5] & 0x10 else 0)


_COUNTED = {}       # (path, device, inode, size, mtime) -> samples decoded


def counted_frames(path, claimed, rate):
    """The samples per channel that ``path`` decodes to, counted once per
    version of the file (a file whose header's length is only a claim:
    ``const.COUNTED_FORMATS``, or none). Where the count falls short of the
    header's ``claimed`` (an Ogg or MP3 download cut short; None: the file
    states no length), a warning on stderr says so; what decodes is used,
    as for a cut wav."""
    status = os.stat(path)
    key = (os.path.abspath(path), status.st_dev, status.st_ino, status.st_size,
           status.st_mtime_ns)
    if key not in _COUNTED:
        count = sum(len(block) for block in read_blocks(path, const.COUNT_BLOCK_FRAMES,
                                                        mix=False))
        if claimed is not None and count < claimed:
            said = ('gives no length' if claimed >= const.UNKNOWN_FRAMES else
                    'says {:.1f} s'.format(claimed / rate))
            print('warning: {}: {:.1f} s of it decode where its header {} (a file cut '
                  'short?); using what decodes'.format(shown_name(path), count / rate, said),
                  file=sys.stderr)
        _COUNTED[key] = count
    return _COUNTED[key]


def _short_reason(err):
    """libsndfile's reason without its "Error opening 'PATH': " (the
    message it goes into names the file already)."""
    text = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
    return re.sub(r'^Error opening (b?(\'.*\'|".*")|.*?): ', '', text).strip()


_SFE_SYSTEM = 2     # libsndfile's "System error.": an OS call failed


def _system_reason(err, handle=None):
    """The OS error behind a libsndfile "System error." (``'No space left on
    device'``, ``'Permission denied'``), from libsndfile's own record of it
    (``handle``'s, or that of the last failed open); None for other errors."""
    if getattr(err, 'code', None) != _SFE_SYSTEM:
        return None
    text = sf._ffi.string(sf._snd.sf_strerror(
        handle._file if handle is not None else sf._ffi.NULL)).decode(errors='replace')
    if ' : ' not in text:
        return None
    return text.split(' : ', 1)[1].strip().rstrip('.') or None


def _as_os_error(err, handle=None):
    """``err``, a libsndfile error, as the ``OSError`` behind it if there is
    one, so that ``writing`` reports "No space left on device", not
    "System error."."""
    reason = _system_reason(err, handle)
    return OSError(None, reason) if reason else err


def read_blocks(path, block_frames, mix=True):
    """Yield the file's samples as mono float32 blocks at the file's own rate.

    Channels are averaged, or with ``mix=False`` kept: blocks of shape
    ``(samples, channels)``. Each block holds ``block_frames`` samples (the
    last one fewer). Raises ``AudioError`` if the file holds NaN or Inf, or
    samples beyond ``const.MAX_SAMPLE_LEVEL`` times full scale, or if
    decoding fails part-way (a truncated file).
    """
    done, rate = 0, None
    try:
        with quiet_decoder():
            source = sf.SoundFile(sf_path(path))
        with source:
            mp3, rate = source.format == 'MP3', source.samplerate
            while True:
                with quiet_decoder(mp3):
                    block = source.read(block_frames, dtype='float32', always_2d=True)
                if len(block) == 0:
                    return
                check_samples(block, path, 'repair or re-export it')
                done += len(block)
                yield block.mean(axis=1, dtype=np.float32) if mix else block
    except (RuntimeError, sf.LibsndfileError) as err:
        if rate is None:
            raise AudioError('{}: decoding failed ({})'.format(
                path, _short_reason(err))) from None
        raise AudioError('{}: decoding failed{} ({}): the file is cut short or damaged; '
                         'repair or re-export it'.format(
                             path, ' after {:.1f} s'.format(done / rate) if done else '',
                             _short_reason(err))) from None


@contextlib.contextmanager
def quiet_decoder(active=True):
    """Within, the process's stderr (file descriptor 2) points at a
    temporary file: libmpg123, inside libsndfile, prints notes such as
    "Warning: Xing stream size off by more than 1%" for a cut MP3 straight
    to it, several times a file. On the way out what it caught goes on to
    stderr but for the decoder's lines (``_DECODER_CHATTER``): what other
    threads wrote meanwhile (a progress bar, a warning) comes late, not
    never. Only the decoder's own calls are wrapped; what this suite has to
    say about such a file is a warning of its own (``counted_frames``).
    Threads take turns, so that none saves the temporary file as stderr."""
    if not active or _STDERR_SWAP.depth:     # nested within one already: quiet
        yield
        return
    with _STDERR_SWAP.lock:
        if sys.stderr is not None:
            sys.stderr.flush()
        saved = os.dup(2)
        try:
            with _catcher() as caught:
                os.dup2(caught.fileno(), 2)
                _STDERR_SWAP.depth += 1
                try:
                    yield
                finally:
                    _STDERR_SWAP.depth -= 1
                    try:
                        if sys.stderr is not None:
                            sys.stderr.flush()
                    finally:        # stderr comes back even if the flush is interrupted
                        os.dup2(saved, 2)
                    caught.seek(0)
                    _pass_on(caught.read(), 2)
        finally:
            os.close(saved)


def _catcher():
    """A temporary file for ``quiet_decoder`` to point stderr at, unlinked
    so that nothing is left behind; the null device where none can be made
    (a full disk: what other threads write then is lost)."""
    try:
        return tempfile.TemporaryFile()
    except OSError:
        return open(os.devnull, 'w+b')


# libmpg123's lines on a damaged MP3: "Note: Trying to resync...",
# "Warning: Xing stream size off by more than 1%, ...", "[src/libmpg123/
# parse.c:wetwork():1365] error: Giving up resync after 1024 bytes - ..."
# (the source path as the library's build gave it: src/, ../src/, /build/...)
_DECODER_CHATTER = re.compile(rb'^(?:Note: |Warning: |\[[^\]]*libmpg123/[^\]]*\] )')


def _pass_on(caught, fd):
    """Write the bytes ``caught`` to file descriptor ``fd`` but for the
    lines of ``_DECODER_CHATTER``; nothing where ``fd`` is closed."""
    kept = b''.join(line for line in caught.splitlines(keepends=True)
                    if not _DECODER_CHATTER.match(line))
    try:
        while kept:
            kept = kept[os.write(fd, kept):]
    except OSError:
        pass                    # stderr closed or gone: nowhere to say it


class _Swap(threading.local):
    lock = threading.Lock()     # shared by all threads (a class attribute)
    depth = 0                   # this thread's quiet_decoder calls under way


_STDERR_SWAP = _Swap()


def check_samples(samples, where, advice, level=True):
    """``AudioError`` naming ``where`` (a file, 'mixture') and ending in
    ``advice`` when ``samples`` hold NaN or Inf, or with ``level`` samples
    beyond ``const.MAX_SAMPLE_LEVEL`` times full scale, which are not audio
    (a damaged file) and whose STFT sums would overflow float32."""
    if not np.all(np.isfinite(samples)):
        raise AudioError('{}: contains NaN or Inf samples (or samples too large for 32-bit '
                         'floats); {}'.format(where, advice))
    peak = float(np.max(np.abs(samples), initial=0.0))
    if level and peak > const.MAX_SAMPLE_LEVEL:
        raise AudioError('{}: samples reach {:.3g}, over {:.0e} times full scale (a damaged '
                         'file?); {}'.format(where, peak, const.MAX_SAMPLE_LEVEL, advice))


def stem(path):
    """The file name without folder and extension: ``a/b.speech.wav`` -> ``b.speech``."""
    return os.path.splitext(os.path.basename(path))[0]


def resampled_length(n_samples, sr_in, sr_out):
    """Samples a signal of ``n_samples`` at ``sr_in`` Hz has at ``sr_out`` Hz."""
    return int(round(n_samples * sr_out / sr_in))


class Resampler:
    """Block-wise sample-rate conversion (libsoxr) with an exact output length.

    ``process(block)`` returns what is ready; ``finish()`` returns the rest,
    trimmed or zero-padded so that the total is ``resampled_length`` of the
    samples given, whatever the filter's delay.
    """

    def __init__(self, sr_in, sr_out, n_in, channels=None):
        self.n_out = resampled_length(n_in, sr_in, sr_out)
        self._shape = () if channels is None else (channels,)   # of a sample
        self._stream = None
        if sr_in != sr_out:
            self._stream = soxr.ResampleStream(sr_in, sr_out, channels or 1, dtype='float32',
                                               quality='HQ')
        self._emitted = 0

    def process(self, block, last=False):
        """What is ready of ``block``: ``(samples,)``, or ``(samples,
        channels)`` for a resampler made with ``channels``."""
        if self._stream is not None:
            block = self._stream.resample_chunk(
                np.ascontiguousarray(block, dtype=np.float32), last=last)
        block = block[:max(0, self.n_out - self._emitted)]
        self._emitted += len(block)
        return block

    def finish(self):
        tail = self.process(np.zeros((0,) + self._shape, np.float32), last=True)
        missing = self.n_out - self._emitted
        self._emitted += max(0, missing)
        return np.concatenate([tail, np.zeros((max(0, missing),) + self._shape, np.float32)])


def queued_samples(queue):
    """How many samples ``queue`` (a list of arrays) holds."""
    return sum(len(block) for block in queue)


def take_samples(queue, count):
    """The first ``count`` samples queued in ``queue`` (a list of arrays),
    removed from it (it keeps the rest)."""
    joined = np.concatenate(queue) if queue else np.zeros(0, np.float32)
    queue[:] = [joined[count:]]
    return joined[:count]


def stream_audio(path, sr=const.SR, block_seconds=const.BLOCK_SECONDS, mix=True):
    """Yield the file as mono float32 blocks at ``sr`` Hz (with ``mix=False``
    its channels kept: ``(samples, channels)``).

    The blocks add up to exactly ``resampled_length(frames, file_rate, sr)``
    samples; about ``block_seconds`` of audio is held at a time.
    """
    info = audio_info(path)
    resampler = Resampler(info.samplerate, sr, info.frames,
                          None if mix else info.channels)
    block_frames = max(1, int(block_seconds * info.samplerate))
    for block in read_blocks(path, block_frames, mix):
        out = resampler.process(block)
        if len(out):
            yield out
    tail = resampler.finish()
    if len(tail):
        yield tail


def load_audio(path, sr=const.SR):
    """The whole file as a mono float32 array at ``sr`` Hz, shape ``(samples,)``."""
    blocks = list(stream_audio(path, sr))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


def change_speed(signal, factor):
    """``signal`` played ``factor`` times faster: tempo and pitch both scale.

    Resampling from ``SR * factor`` to ``SR`` Hz (libsoxr), the speed
    perturbation of speech-recognition training: ``factor`` 1.1 gives a
    voice 9 % shorter (1 / 1.1) and 1.65 semitones higher. Shape
    ``(samples,)`` in, ``(round(samples / factor),)`` out.
    """
    if factor == 1.0:
        return signal
    out = soxr.resample(np.ascontiguousarray(signal, dtype=np.float32),
                        const.SR * factor, const.SR, quality='HQ')
    return out[:resampled_length(len(signal), const.SR * factor, const.SR)]


WRITTEN_TYPES = '.wav, .flac, .ogg, .opus, .mp3, .aiff, .caf, .au, .w64 or .rf64'


def output_format(path):
    """libsndfile's format name (``'WAV'``, ``'FLAC'``...) for ``path``'s
    extension; ``.opus`` is Ogg (with the Opus subtype, ``default_subtype``)."""
    ext = os.path.splitext(path)[1][1:].upper()
    fmt = {'AIF': 'AIFF', 'SND': 'AU', 'OPUS': 'OGG'}.get(ext, ext)
    if '.' + ext.lower() not in const.AUDIO_EXTENSIONS + ('.opus',) \
            or fmt not in sf.available_formats():
        raise AudioError('{}: cannot write ".{}" files; use {}'.format(
            path, ext.lower(), WRITTEN_TYPES))
    return fmt


def check_output_rate(path, fmt, subtype, rate):
    """Raise ``AudioError`` naming ``path`` unless a ``fmt`` file of
    ``subtype`` can be written at ``rate`` Hz (and read back): at least
    ``const.MIN_SAMPLE_RATE``, and within the encoder's rates."""
    if rate < const.MIN_SAMPLE_RATE:
        limit = 'the lowest rate written is {} Hz'.format(const.MIN_SAMPLE_RATE)
    elif subtype == 'VORBIS' and rate > const.VORBIS_MAX_RATE:
        limit = 'Vorbis holds at most {} Hz'.format(const.VORBIS_MAX_RATE)
    elif subtype == 'OPUS' and rate not in const.OPUS_RATES:
        limit = 'Opus holds only {} Hz'.format(', '.join(map(str, const.OPUS_RATES)))
    elif fmt == 'MP3' and rate not in const.MP3_RATES:
        limit = 'MP3 holds only {} Hz'.format(', '.join(map(str, const.MP3_RATES)))
    elif fmt == 'FLAC' and (rate > const.FLAC_MAX_RATE or rate > 65535 and rate % 10):
        limit = 'FLAC holds at most {} Hz, and above 65535 Hz only multiples of 10'.format(
            const.FLAC_MAX_RATE)
    else:
        return
    raise AudioError('{}: cannot write {} Hz ({}); choose another rate or format'.format(
        path, rate, limit))


# Bytes per sample of the subtypes that have a fixed size; others (compressed)
# take at most 4.
_SAMPLE_BYTES = {'PCM_S8': 1, 'PCM_U8': 1, 'ULAW': 1, 'ALAW': 1, 'PCM_16': 2,
                 'PCM_24': 3, 'PCM_32': 4, 'FLOAT': 4, 'DOUBLE': 8}


def container_for(path, fmt, subtype, frames):
    """The libsndfile format that holds ``frames`` samples (frames times
    channels) of
    ``subtype`` written as ``fmt``: ``fmt`` itself, or ``'RF64'`` for a wav
    whose samples pass the 4 GiB that its 32-bit sizes count (libsndfile
    would wrap the length and the file would read back short). Raises
    ``AudioError`` naming ``path`` for another format that cannot hold them."""
    size = frames * _SAMPLE_BYTES.get(subtype, 4)
    if size <= const.MAX_32BIT_DATA_BYTES or fmt in const.LARGE_FILE_FORMATS:
        return fmt
    if fmt in ('WAV', 'WAVEX'):
        return 'RF64'
    raise AudioError('{}: {:.1f} GiB of samples is more than a {} file holds (4 GiB); '
                     'write .wav or .flac'.format(path, size / 2 ** 30, fmt))


def default_subtype(fmt, path='', source=None):
    """Sample format written when the user names none: float32 for wav and
    its 64-bit forms (never clips, as the seed's librosa output), Opus for a
    ``.opus`` ``path``, else libsndfile's default (16-bit for FLAC, AIFF,
    CAF, AU), or 24-bit there where ``source``, the input's subtype, is
    deeper than 16 bits (``const.DEEP_SUBTYPES``)."""
    if fmt in ('WAV', 'W64', 'RF64'):
        return 'FLOAT'
    if fmt == 'OGG' and path.lower().endswith('.opus'):
        return 'OPUS'
    if source in const.DEEP_SUBTYPES and sf.check_format(fmt, 'PCM_24'):
        return 'PCM_24'
    return sf.default_subtype(fmt)


# libsndfile's sf_command code that turns off the PEAK chunk of float wav
# files: the chunk holds a timestamp, so two runs would write different bytes.
_SFC_SET_ADD_PEAK_CHUNK = 0x1050


@functools.lru_cache(maxsize=None)
def keeps_length(fmt, subtype, rate):
    """Whether a ``fmt`` file of ``subtype`` at ``rate`` Hz reads back as
    many samples as were written. Block codecs (IMA and MS ADPCM, GSM 6.10,
    G.721...) pad to whole blocks and 8-bit AIFF to an even count; tried on
    ``const.LENGTH_PROBE_SAMPLES`` samples in memory, once a combination.
    Plain PCM of 16 bits or more and float keep it in every container."""
    if subtype in ('PCM_16', 'PCM_24', 'PCM_32', 'FLOAT', 'DOUBLE'):
        return True
    probe = io.BytesIO()
    samples = np.zeros(const.LENGTH_PROBE_SAMPLES, np.float32)
    try:
        sf.write(probe, samples, rate, subtype=subtype, format=fmt)
        probe.seek(0)
        return sf.info(probe).frames == len(samples)
    except (sf.LibsndfileError, RuntimeError):
        return True         # not this check's to refuse: writing the file names the problem


def write_samples(handle, samples):
    """``handle.write(samples)``; a failing OS call (a full disk) is raised
    as the ``OSError`` it was, not as libsndfile's "System error."."""
    try:
        handle.write(samples)
    except sf.LibsndfileError as err:
        raise _as_os_error(err, handle) from None


def unwritten_wav_length(path):
    """Whether ``path`` is a RIFF wav whose data chunk says 0 bytes but has
    bytes after it that are not another chunk: samples whose length the
    recorder never wrote (killed before closing the file). A truly empty
    wav, whose data chunk is followed by another (tags: LIST, id3), or
    nothing, is not."""
    found = wav_data_chunk(path)
    if found is None:
        return False
    at, size, head, total = found
    after = head[at + 8:at + 16]
    if size or len(after) < 8:
        return False
    return not _looks_like_chunk(after, total - at - 16)


def overflowed_wav_length(path):
    """Whether ``path`` is a RIFF wav past 4 GiB whose data chunk says
    0xFFFFFFFF bytes: ffmpeg writing a wav to a pipe leaves its sizes so,
    and libsndfile reads only the first 4 GiB of it (a film's 5.1 soundtrack
    past two hours came out short without a word)."""
    try:
        if os.path.getsize(sf_path(path)) <= const.WAV_SIZE_LIMIT:
            return False
    except OSError:
        return False
    found = wav_data_chunk(path)
    if found is None:
        return False
    at, size, _, total = found
    return size == const.WAV_SIZE_LIMIT and total - at - 8 > size


def wav_data_chunk(path):
    """``(offset, size, head, file size)`` of the data chunk of the RIFF wav
    ``path``, as its header gives them (``offset`` of the chunk's id within
    ``head``, the file's first ``const.WAV_SCAN_BYTES``; sizes in bytes);
    None for another file, or one whose data chunk is not in ``head``."""
    try:
        with open(sf_path(path), 'rb') as handle:
            head = handle.read(const.WAV_SCAN_BYTES)
            total = os.fstat(handle.fileno()).st_size
    except OSError:
        return None
    if head[:4] != b'RIFF' or head[8:12] != b'WAVE':
        return None
    at = 12
    while at + 8 <= len(head):
        chunk, size = head[at:at + 4], int.from_bytes(head[at + 4:at + 8], 'little')
        if chunk == b'data':
            return at, size, head, total
        at += 8 + size + size % 2
    return None


def _looks_like_chunk(header, room):
    """Whether 8 bytes ``header`` read as a chunk id of printable ASCII and
    a size that fits in the ``room`` bytes left after it."""
    return all(32 <= byte < 127 for byte in header[:4]) and \
        int.from_bytes(header[4:8], 'little') <= room


def sf_path(path):
    """``path`` as soundfile should be given it: bytes. A name that is not
    valid UTF-8 (an old Windows or Latin-1 disk's ``caf\\xe9.wav``) reaches
    Python as surrogate escapes, which soundfile's strict encoding of a str
    path refuses; ``os.fsencode`` gives back the bytes on disk."""
    return os.fsencode(path) if isinstance(path, str) else path


def open_for_writing(path, rate, subtype, fmt, channels=1):
    """A ``soundfile.SoundFile`` of ``channels`` (mono by default) open for
    writing, with the same bytes for the same samples (no timestamped PEAK
    chunk)."""
    try:
        handle = sf.SoundFile(sf_path(path), 'w', rate, channels, subtype, format=fmt)
    except sf.LibsndfileError as err:
        raise _as_os_error(err) from None
    sf._snd.sf_command(handle._file, _SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
    return handle


@contextlib.contextmanager
def standing_in(tmp, name=None):
    """Around the work on ``tmp``, a temporary file standing in for
    ``name`` (an input decoded or spooled): ``AudioError`` raised inside
    names ``name`` instead of ``tmp`` (left as it is without ``name``), and
    ``tmp`` is removed on leaving, whatever happened."""
    if name is not None:
        _SHOWN_AS[tmp] = name
    try:
        yield tmp
    except AudioError as err:
        if name is None:
            raise
        raise type(err)(str(err).replace(tmp, name)) from None
    finally:
        _SHOWN_AS.pop(tmp, None)
        if os.path.lexists(tmp):
            os.remove(tmp)


_SHOWN_AS = {}      # temporary path -> what it stands in for (standing_in)


def shown_name(path):
    """How a warning names ``path``: what a temporary file stands in for
    (``stdin``, the m4a it was decoded from), else ``path`` itself."""
    return _SHOWN_AS.get(path, path)


@contextlib.contextmanager
def replacing(path):
    """Yield a temporary path beside ``path``; on success rename it onto
    ``path``, on any failure remove it, so ``path`` is never half-written.
    Write failures become ``OutputError`` naming ``path``."""
    tmp = temporary_path(path)
    with writing(path):
        try:
            yield tmp
            os.replace(tmp, path)
        finally:
            if os.path.isfile(tmp):
                os.remove(tmp)


def creation_problem(folder):
    """Why no file can be created in ``folder`` ('' is the working folder),
    or None: asked of ``os.access``, then tried with an empty temporary
    file, as ``os.access`` says yes to root everywhere (/proc included)."""
    if not os.access(folder or '.', os.W_OK | os.X_OK):
        return 'the output folder is not writable'
    try:
        handle, probe = tempfile.mkstemp(dir=folder or '.', prefix='.', suffix='.probe')
    except OSError as err:
        return 'cannot create a file in the output folder ({})'.format(
            err.strerror or err)
    os.close(handle)
    os.remove(probe)
    return None


def temporary_path(final_path, suffix='.partial', pid=None):
    """A hidden file ``.NAME.PID.partial`` (``suffix``) beside ``final_path``
    to write before renaming into place. Where that name (with room for a
    ``.final`` suffix) would pass ``const.NAME_MAX`` bytes, NAME is cut
    short and followed by ``~`` and 8 hex digits of its hash. ``pid``: the
    process whose name it is (None: this one), to recognise another's."""
    folder, name = os.path.split(final_path)
    tail = '.{}{}'.format(os.getpid() if pid is None else pid, suffix)
    if len(os.fsencode('.' + name + tail + FINAL_SUFFIX)) > const.NAME_MAX:
        digest = '~' + hashlib.sha1(os.fsencode(name)).hexdigest()[:8]
        keep = const.NAME_MAX - len('.' + digest + tail + FINAL_SUFFIX)
        name = os.fsencode(name)[:keep].decode('utf-8', errors='ignore') + digest
    return os.path.join(folder, '.' + name + tail)


FINAL_SUFFIX = '.final'     # added to a temporary file converted to its final format
STAGED_EXTENSIONS = ('.wav', '.npz')     # what make_dataset.py stages (staged_path)
# .NAME.PID.partial, its .final twin, or make_dataset.staged_path's
# .NAME.wav.PID.partial.wav and .NAME.npz.PID.partial.npz, which end as their
# files do so that write_audio writes them in that format (no other extension:
# a hidden .photo.123.partial.jpg of another program is not ours)
_TEMPORARY = re.compile(r'^\..+\.(\d+)\.partial(?:{}|{})?$'.format(
    re.escape(FINAL_SUFFIX), '|'.join(re.escape(e) for e in STAGED_EXTENSIONS)))


def remove_stale_temporaries(folder, pattern=_TEMPORARY):
    """Remove the temporary files of ``temporary_path`` (and those with
    their file's extension after it, ``make_dataset.staged_path``'s; or the
    files whose names ``pattern`` matches, its first group their PID) that
    interrupted runs (SIGKILL, a crash) left in ``folder``: those whose
    process (the PID in the name) is gone and that, with their ``.final``
    twin, are unchanged for ``const.STALE_TEMPORARY_SECONDS`` (a process
    of that PID on another machine sharing the folder is still writing to
    its files). Returns the paths removed."""
    try:
        names = os.listdir(folder or '.')
    except OSError:
        return []
    groups = {}
    for name in names:
        found = pattern.match(name)
        path = os.path.join(folder, name)
        if found and os.path.isfile(path) and not os.path.islink(path):
            key = name[:-len(FINAL_SUFFIX)] if name.endswith(FINAL_SUFFIX) else name
            groups.setdefault((key, int(found.group(1))), []).append(path)
    removed, now = [], time.time()
    for (_, pid), paths in sorted(groups.items()):
        try:
            newest = max(os.path.getmtime(p) for p in paths)
        except OSError:
            continue
        if process_exists(pid) or now - newest < const.STALE_TEMPORARY_SECONDS:
            continue
        for path in paths:
            try:
                os.remove(path)
                removed.append(path)
            except OSError:
                pass            # gone already (another process cleaning), or not ours to remove
    return removed


def process_exists(pid):
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False            # no such process (or a number too large for a PID)
    except OSError:
        return True             # another user's process
    return True


def write_audio(path, signal, sr=const.SR, subtype=None):
    """Write a mono float signal to ``path`` atomically (temp file + rename).

    Refuses NaN/Inf. If the format is integer and the signal peaks beyond
    +-1 it is scaled down to fit rather than clipped.
    """
    signal = np.asarray(signal, dtype=np.float32)
    if not np.all(np.isfinite(signal)):
        raise AudioError('{}: refusing to write NaN or Inf samples'.format(path))
    fmt = output_format(path)
    subtype = subtype or default_subtype(fmt, path)
    check_output_rate(path, fmt, subtype, sr)
    container = container_for(path, fmt, subtype, len(signal))
    signal = signal * integer_gain(subtype, float(np.max(np.abs(signal), initial=0.0)))
    with replacing(path) as tmp:
        with open_for_writing(tmp, sr, subtype, container) as handle:
            write_samples(handle, signal)


def integer_gain(subtype, peak):
    """Gain that scales a signal peaking at ``peak`` down to fit an integer
    ``subtype`` rather than clip: ``const.PEAK_LIMIT / peak`` beyond full
    scale, else (and for float subtypes) 1."""
    integer = not subtype.startswith(('FLOAT', 'DOUBLE'))
    return const.PEAK_LIMIT / peak if integer and peak > 1.0 else 1.0


def silence_stream(target):
    """Point ``target``'s file descriptor at the null device, so that a pipe
    whose reader has gone does not raise again when Python flushes it at
    exit."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), target.fileno())
    except (OSError, ValueError, AttributeError):
        pass            # not a real file (a test's buffer): nothing to flush at exit


def open_csv(path, mode='r'):
    """``path`` opened as the suite's CSV files are, for ``mode`` 'r', 'w' or
    'a': UTF-8 (read past a byte-order mark, Excel's "CSV UTF-8"), with
    file names that are not valid UTF-8 kept as their bytes on disk
    (surrogate escapes), so that a report names such a file as it is."""
    encoding = 'utf-8-sig' if mode == 'r' else 'utf-8'
    return open(path, mode, newline='', encoding=encoding, errors='surrogateescape')


def write_table(path, columns, rows, digits=4, nan='nan'):
    """A CSV file at ``path``: the header ``columns``, then for each dict
    of ``rows`` its values of ``columns`` (``table_cell``: floats with
    ``digits`` decimals, NaN as ``nan``, None empty); written atomically
    (``replacing``)."""
    with replacing(path) as tmp:
        with open_csv(tmp, 'w') as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([table_cell(row[k], digits, nan) for k in columns])


def table_cell(value, digits=4, nan='nan'):
    """``value`` as a CSV cell: '' for None, a float with ``digits``
    decimals or ``nan`` for NaN, anything else as it is."""
    if value is None:
        return ''
    if isinstance(value, float):
        return nan if value != value else '{:.{}f}'.format(value, digits)
    return value


def save_npz(path, **arrays):
    """``np.savez`` to ``path`` atomically (temp file + rename)."""
    with replacing(path) as tmp:
        with open(tmp, 'wb') as handle:
            np.savez(handle, **arrays)


def find_mixtures(folder, exclude=(), extensions=const.AUDIO_EXTENSIONS):
    """``find_audio(folder, extensions)`` less references
    (``NAME.speech.wav``, ``NAME.music.wav``) and the files inside those of
    the folders ``exclude``, wherever the listing reaches them (an output
    folder within the input folder, or linked into it; one that holds the
    input folder excludes nothing)."""
    root = os.path.realpath(folder)
    skip = [s for s in map(os.path.realpath, exclude) if not is_within(root, s)]
    return [p for p in find_audio(folder, extensions)
            if not any(is_within(os.path.realpath(p), s) for s in skip)
            and not stem(p).endswith(const.REFERENCE_TAGS)]


def is_within(path, folder):
    """Whether the real path ``path`` is ``folder`` or lies below it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def find_audio(folder, extensions=const.AUDIO_EXTENSIONS):
    """Audio files below ``folder`` (recursive), sorted by relative path:
    those whose extension, in any case, is one of ``extensions``. Hidden
    files and folders (``.name``) are left out; linked folders are followed,
    each real folder once (a link back up would loop).

    A FIFO, socket or device named like audio is skipped with a warning on
    stderr (reading one would wait forever)."""
    found, seen, top = [], set(), os.path.realpath(folder)
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        # a link to a folder the listing reaches anyway is left to its real
        # path, so that files keep their names whatever the links sort as
        dirs[:] = sorted(d for d in dirs if not d.startswith('.') and not (
            os.path.islink(os.path.join(root, d)) and
            is_within(os.path.realpath(os.path.join(root, d)), top)))
        for name in sorted(files):
            if name.startswith('.'):
                continue
            if os.path.splitext(name)[1].lower() in extensions:
                path = os.path.join(root, name)
                try:
                    regular = stat.S_ISREG(os.stat(path).st_mode)
                except OSError:
                    regular = True      # a broken link: reported when it is read
                if not regular:
                    print('warning: skipped {}: not a regular file (a FIFO, socket or '
                          'device)'.format(path), file=sys.stderr)
                    continue
                found.append(path)
    return sorted(found, key=lambda p: os.path.relpath(p, folder))


# --------------------------------------------------------------------------
# STFT

def load_deferred():
    """Import the librosa modules that ``import librosa`` defers to their
    first use (the STFT's, and with them numba's). Loading them runs numba's
    cache through ctypes callbacks, where a Ctrl-C is lost: the run went on
    to the end and exited 0. ``cli.run`` calls this while Ctrl-C still ends
    a starting program at once (``interrupts``). A module that fails to
    load here (numba missing, a cache it cannot write) is left to fail
    where the STFT first needs it, if at all."""
    try:
        import librosa.core.spectrum  # noqa: F401
        import librosa.filters  # noqa: F401
        import librosa.util.utils  # noqa: F401
    except Exception:  # noqa: BLE001  (any failure belongs to the first real use)
        pass


def _librosa_stft(signal, center):
    """``librosa.stft`` with the suite's frames: ``FFT_SIZE`` samples, periodic
    Hann, ``H`` apart; ``center`` pads ``FFT_SIZE // 2`` zeros at both ends.
    complex64 ``(513, frames)`` for float32 samples."""
    with warnings.catch_warnings():       # shorter than a frame: zero-padded, as intended
        warnings.filterwarnings('ignore', 'n_fft=.* is too large', UserWarning)
        return librosa.stft(np.asarray(signal, dtype=np.float32), n_fft=const.FFT_SIZE,
                            hop_length=const.H, window='hann', center=center,
                            pad_mode='constant')


class StreamingSTFT:
    """Centred STFT of a signal given block by block.

    ``push(samples)`` returns the frames that are complete, ``finish()`` the
    rest, so that a signal of ``n`` samples gives ``1 + n // H`` frames in
    all, each ``(513,)`` complex64, identical to ``stft`` of the whole signal:
    uncentred ``librosa.stft`` of the buffered samples, which start with the
    centring pad. Only a block and a frame are held, whatever the length.
    """

    def __init__(self):
        self._buffer = np.zeros(const.FFT_SIZE // 2, np.float32)
        self._n_samples = 0
        self._n_frames = 0

    def push(self, samples):
        samples = np.asarray(samples, dtype=np.float32)
        self._n_samples += len(samples)
        self._buffer = np.concatenate([self._buffer, samples])
        return self._emit(max(0, (len(self._buffer) - const.FFT_SIZE) // const.H + 1))

    def finish(self):
        remaining = 1 + self._n_samples // const.H - self._n_frames
        needed = (remaining - 1) * const.H + const.FFT_SIZE
        if len(self._buffer) < needed:
            pad = np.zeros(needed - len(self._buffer), np.float32)
            self._buffer = np.concatenate([self._buffer, pad])
        return self._emit(remaining)

    def _emit(self, count):
        if count <= 0:
            return np.zeros((const.N_BINS, 0), np.complex64)
        spectrum = _librosa_stft(self._buffer[:(count - 1) * const.H + const.FFT_SIZE], False)
        self._buffer = self._buffer[count * const.H:]
        self._n_frames += count
        return spectrum


class StreamingISTFT:
    """Inverse of ``StreamingSTFT``: weighted overlap-add, block by block.

    ``push(spectrum)`` takes ``(513, k)`` frames and returns the samples no
    later frame can change; ``finish()`` returns the rest, so that the total
    is exactly ``length`` samples, as ``istft`` of all the frames. Our own:
    librosa has no streaming inverse, and ``librosa.istft`` of each block
    would divide by that block's window sum alone, wrong where blocks meet.
    """

    def __init__(self, length):
        if const.FFT_SIZE % const.H:
            raise ValueError('FFT_SIZE must be a multiple of H')
        self.length = length
        self._window = librosa.filters.get_window('hann', const.FFT_SIZE,
                                                  fftbins=True).astype(np.float32)
        self._overlap = const.FFT_SIZE // const.H        # frames per sample
        self._num = np.zeros((self._overlap - 1, const.H), np.float32)
        self._den = np.zeros((self._overlap - 1, const.H), np.float32)
        self._skip = const.FFT_SIZE // 2                  # centring pad
        self._emitted = 0

    def push(self, spectrum):
        k = spectrum.shape[1]
        if k == 0:
            return np.zeros(0, np.float32)
        frames = np.fft.irfft(spectrum.T, n=const.FFT_SIZE, axis=1).astype(np.float32)
        frames *= self._window
        r, hop = self._overlap, const.H
        num = np.zeros((k + r - 1, hop), np.float32)
        den = np.zeros((k + r - 1, hop), np.float32)
        num[:r - 1] = self._num
        den[:r - 1] = self._den
        square = (self._window ** 2).reshape(r, hop)
        for i in range(r):
            num[i:i + k] += frames[:, i * hop:(i + 1) * hop]
            den[i:i + k] += square[i]
        self._num, self._den = num[k:], den[k:]
        return self._deliver(num[:k], den[:k])

    def finish(self):
        out = self._deliver(self._num, self._den)
        self._num = self._num[:0]
        self._den = self._den[:0]
        missing = self.length - self._emitted
        if missing > 0:
            out = np.concatenate([out, np.zeros(missing, np.float32)])
            self._emitted += missing
        return out

    def _deliver(self, num, den):
        num, den = num.ravel(), den.ravel()
        samples = np.divide(num, den, out=np.zeros_like(num), where=den > np.finfo(np.float32).tiny)
        drop = min(self._skip, len(samples))
        self._skip -= drop
        samples = samples[drop:][:max(0, self.length - self._emitted)]
        self._emitted += len(samples)
        return samples


def stft(signal):
    """Complex STFT ``(513, 1 + len // H)`` of a whole mono signal (``librosa.stft``)."""
    return _librosa_stft(signal, True)


def istft(spectrum, length):
    """Signal of exactly ``length`` samples from a ``(513, frames)`` spectrum
    (``librosa.istft``: weighted overlap-add, centring pad removed), float32."""
    return librosa.istft(np.asarray(spectrum, dtype=np.complex64), hop_length=const.H,
                         n_fft=const.FFT_SIZE, window='hann', center=True, length=length)


def magnitude(signal):
    """``|STFT|`` of a mono signal, float32 ``(513, frames)``."""
    return np.abs(stft(signal)).astype(np.float32)


def phase_sensitive_magnitude(source, mixture):
    """Truncated phase-sensitive target of ``source`` in ``mixture``, float32.

    ``source`` and ``mixture`` are complex spectra ``(513, frames)``. Each bin
    is ``|S| cos(angle S - angle X)``, the part of the source in line with the
    mixture's phase, kept within ``[0, |X|]`` so that a mask in [0, 1] can
    reach it (Erdogan et al., ICASSP 2015). A mask times ``|X|`` with the
    mixture's phase is closest to the source's waveform when it equals this,
    not ``|S|``.
    """
    mix_mag = np.abs(mixture)
    in_phase = np.divide(np.real(source * np.conj(mixture)), mix_mag,
                         out=np.zeros(mix_mag.shape), where=mix_mag > 0)
    return np.clip(in_phase, 0.0, mix_mag).astype(np.float32)


# --------------------------------------------------------------------------
# Patches and masks

def patch_weights(length=const.PATCH_LENGTH, overlap=const.PATCH_OVERLAP):
    """Cross-fade weights over one patch, ``(length,)``: a trapezoid rising
    over the first ``overlap`` frames and falling over the last, never zero."""
    i = np.arange(length, dtype=np.float32)
    ramp = np.minimum(i + 1, length - i) / (overlap + 1)
    return np.minimum(1.0, ramp).astype(np.float32)


class PatchMasker:
    """Masks for a stream of magnitude frames, computed patch by patch.

    ``mask_fn`` maps ``(B, 1, 512, length)`` normalised magnitudes (DC bin
    dropped) to masks of the same shape. Patches of ``length`` frames start
    every ``length - overlap`` frames; where two overlap their masks are
    cross-faded with ``patch_weights``. ``push(magnitude)`` takes
    ``(513, k)`` frames and returns the ``(513, j)`` masks of the frames no
    later patch touches; ``finish()`` returns the rest (the last patch is
    zero-padded). The DC bin, which the network does not see, takes the
    mask of bin 1 (upstream set it to 0), so an all-pass mask is exact. At most ``batch`` patches plus one are held in memory.
    """

    def __init__(self, mask_fn, length=const.PATCH_LENGTH,
                 overlap=const.PATCH_OVERLAP, batch=const.SEPARATE_BATCH):
        if not 0 <= overlap < length:
            raise ValueError('overlap must be in [0, patch length)')
        self.mask_fn = mask_fn
        self.length = length
        self.hop = length - overlap
        self.overlap = overlap
        self.batch = max(1, batch)
        self._weights = patch_weights(length, overlap)
        self._frames = np.zeros((const.NET_BINS, 0), np.float32)
        self._num = np.zeros((const.NET_BINS, 0), np.float32)
        self._den = np.zeros(0, np.float32)
        self._offset = 0          # global index of the first buffered frame
        self._next_start = 0      # global index where the next patch starts
        self._n_frames = 0

    def push(self, magnitude):
        self._append(magnitude)
        span = (self.batch - 1) * self.hop + self.length
        while self._next_start + span <= self._n_frames:
            self._run([self._next_start + b * self.hop for b in range(self.batch)])
        return self._release(self._next_start)

    def finish(self):
        starts = []
        start = self._next_start
        while start == 0 or start + self.overlap < self._n_frames:
            starts.append(start)
            start += self.hop
        for first in range(0, len(starts), self.batch):
            self._run(starts[first:first + self.batch])
        return self._release(self._n_frames)

    def _append(self, magnitude):
        k = magnitude.shape[1]
        self._frames = np.concatenate([self._frames, magnitude[1:]], axis=1)
        self._num = np.concatenate(
            [self._num, np.zeros((const.NET_BINS, k), np.float32)], axis=1)
        self._den = np.concatenate([self._den, np.zeros(k, np.float32)])
        self._n_frames += k

    def _run(self, starts):
        patches = np.zeros((len(starts), 1, const.NET_BINS, self.length), np.float32)
        for b, start in enumerate(starts):
            piece = self._frames[:, start - self._offset:start - self._offset + self.length]
            patches[b, 0, :, :piece.shape[1]] = piece
        masks = np.asarray(self.mask_fn(patches), dtype=np.float32)
        for b, start in enumerate(starts):
            lo = start - self._offset
            hi = min(lo + self.length, self._frames.shape[1])
            self._num[:, lo:hi] += masks[b, 0, :, :hi - lo] * self._weights[:hi - lo]
            self._den[lo:hi] += self._weights[:hi - lo]
        self._next_start = starts[-1] + self.hop

    def _release(self, upto):
        k = max(0, min(upto, self._n_frames) - self._offset)
        masks = np.empty((const.N_BINS, k), np.float32)
        masks[1:] = self._num[:, :k] / np.maximum(self._den[:k], 1e-8)
        masks[0] = masks[1]     # DC is not modelled: it follows the lowest bin
        self._frames = self._frames[:, k:]
        self._num = self._num[:, k:]
        self._den = self._den[k:]
        self._offset += k
        return masks

