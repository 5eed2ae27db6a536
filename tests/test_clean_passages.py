"""clean_passages.PassageGate: the clean passages of a stream written as
they came in, the others separated, with fades between them."""
import numpy as np
import pytest

from clean_passages import PassageGate

PASSAGE, FADE = 1000, 100


def estimates(pattern, seed=0, channels=None):
    """``(speech, music)`` estimates, a passage per letter of ``pattern``:
    ``c`` clean (music 40 dB below the speech), ``m`` music 10 dB above it,
    ``s`` silence; a lower-case ``t`` adds a tail of a fifth of a passage
    that copies the passage before it."""
    rng = np.random.default_rng(seed)
    shape = lambda n: (n,) if channels is None else (n, channels)   # noqa: E731
    speech, music = [], []
    for letter in pattern:
        n = PASSAGE // 5 if letter == 't' else PASSAGE
        kind = pattern[pattern.index('t') - 1] if letter == 't' else letter
        s, m = rng.standard_normal(shape(n)), rng.standard_normal(shape(n))
        level = {'c': (1.0, 0.01), 'm': (1.0, 3.2), 's': (0.0, 0.0)}[kind]
        speech.append(level[0] * s)
        music.append(level[1] * m)
    return (np.concatenate(speech).astype(np.float32),
            np.concatenate(music).astype(np.float32))


def run(gate, speech, music, block=None):
    """The gate's outputs for the estimates fed in blocks of ``block``
    samples (default: all at once), joined."""
    block = block or len(speech)
    parts = ((speech[i:i + block], music[i:i + block]) for i in range(0, len(speech), block))
    out = list(gate.gated(parts))
    return np.concatenate([s for s, _ in out]), np.concatenate([m for _, m in out])


def gains(music, music_out):
    """The gain ``g`` in ``music_out = (1 - g) music`` (and ``speech_out =
    speech + g music``)."""
    return 1.0 - music_out.astype(np.float64) / music


def test_clean_passages_are_the_mixture_and_the_rest_is_separated():
    speech, music = estimates('mcmcc')
    gate = PassageGate(20.0, PASSAGE, FADE)
    speech_out, music_out = run(gate, speech, music)
    np.testing.assert_allclose(speech_out + music_out, speech + music, atol=1e-6)
    g = gains(music, music_out)
    p = PASSAGE
    np.testing.assert_allclose(g[:p], 0.0, atol=1e-6)                 # music: separated
    np.testing.assert_allclose(g[p + FADE:2 * p - FADE], 1.0, atol=1e-5)   # clean: as it came
    np.testing.assert_allclose(g[2 * p:3 * p], 0.0, atol=1e-6)
    np.testing.assert_allclose(g[3 * p + FADE:], 1.0, atol=1e-5)      # no fade between two clean
    # the fades lie inside the clean passages and rise (fall) smoothly
    fade_in, fade_out = g[p:p + FADE], g[2 * p - FADE:2 * p]
    assert np.all(np.diff(fade_in) > 0) and np.all(np.diff(fade_out) < 0)
    assert 0 < fade_in[0] < 0.01 and 0.99 < fade_in[-1] < 1
    np.testing.assert_allclose(fade_out, fade_in[::-1], atol=1e-5)
    assert (gate.passages, gate.clean) == (5, 3)
    assert gate.kept == pytest.approx(3 * p - 1.5 * FADE, abs=1)


def test_a_clean_stream_comes_out_whole_and_a_separated_one_untouched():
    speech, music = estimates('ccct')
    gate = PassageGate(20.0, PASSAGE, FADE)
    speech_out, music_out = run(gate, speech, music)
    np.testing.assert_array_equal(speech_out, speech + music)
    assert not np.any(music_out)
    assert (gate.passages, gate.clean, gate.kept) == (3, 3, len(speech))

    speech, music = estimates('mmm')
    gate = PassageGate(20.0, PASSAGE, FADE)
    speech_out, music_out = run(gate, speech, music)
    np.testing.assert_array_equal(speech_out, speech)
    np.testing.assert_array_equal(music_out, music)
    assert (gate.passages, gate.clean, gate.kept) == (3, 0, 0.0)


@pytest.mark.parametrize('block', [1, 37, 999, 1000, 1001, 4321])
def test_the_outputs_do_not_depend_on_the_block_sizes(block):
    speech, music = estimates('cmccmt', seed=3)
    whole = run(PassageGate(20.0, PASSAGE, FADE), speech, music)
    pieces = run(PassageGate(20.0, PASSAGE, FADE), speech, music, block)
    for a, b in zip(whole, pieces):
        np.testing.assert_array_equal(a, b)


def test_a_short_tail_follows_the_passage_before_it_and_a_long_one_is_judged():
    # a tail of a fifth of a passage of music after a clean passage stays clean
    speech, music = estimates('c')
    tail_s, tail_m = estimates('m', seed=1)
    n = PASSAGE // 5
    s, m = np.concatenate([speech, tail_s[:n]]), np.concatenate([music, tail_m[:n]])
    gate = PassageGate(20.0, PASSAGE, FADE)
    speech_out, _ = run(gate, s, m)
    np.testing.assert_array_equal(speech_out, s + m)
    assert (gate.passages, gate.clean) == (1, 1)
    assert gate.decisions == [(0, len(s), True)]
    # three fifths of a passage of music: a passage of its own, separated
    n = 3 * PASSAGE // 5
    s, m = np.concatenate([speech, tail_s[:n]]), np.concatenate([music, tail_m[:n]])
    gate = PassageGate(20.0, PASSAGE, FADE)
    speech_out, _ = run(gate, s, m)
    np.testing.assert_array_equal(speech_out[PASSAGE:], s[PASSAGE:])
    assert (gate.passages, gate.clean) == (2, 1)
    assert gate.decisions == [(0, PASSAGE, True), (PASSAGE, n, False)]


def test_silence_is_not_clean_and_channels_share_one_gain():
    speech, music = estimates('sc', channels=2)
    gate = PassageGate(20.0, PASSAGE, FADE)
    speech_out, music_out = run(gate, speech, music)
    assert speech_out.shape == music_out.shape == (2 * PASSAGE, 2)
    assert (gate.passages, gate.clean) == (2, 1)
    g = gains(music[PASSAGE:], music_out[PASSAGE:])
    np.testing.assert_allclose(g[:, 0], g[:, 1], atol=1e-4)
    assert g[0, 0] < 0.01 and np.allclose(g[FADE:], 1.0, atol=1e-5)    # faded in after silence


def test_memory_holds_two_passages_whatever_the_length():
    """The first passage comes out once the second is judged, long before
    the stream ends."""
    pulled = []

    def endless():
        rng = np.random.default_rng(0)
        while True:
            pulled.append(100)
            yield (rng.standard_normal(100).astype(np.float32),
                   0.001 * rng.standard_normal(100).astype(np.float32))

    first, _ = next(PassageGate(20.0, PASSAGE, FADE).gated(endless()))
    assert len(first) == PASSAGE
    assert sum(pulled) <= 2 * PASSAGE


def test_the_threshold_divides_clean_from_not():
    speech, music = estimates('c')      # speech 40 dB above the music
    for threshold, clean in ((35.0, 1), (45.0, 0)):
        gate = PassageGate(threshold, PASSAGE, FADE)
        run(gate, speech, music)
        assert gate.clean == clean
