"""passage_gate.PassageGate: the clean passages of a stream written as
they came in, those of music alone as silence, the others separated, with
fades between them."""
import numpy as np
import pytest

from passage_gate import CLEAN, MUSIC, SEPARATED, PassageGate, judge

PASSAGE, FADE = 1000, 100


def estimates(pattern, seed=0, channels=None):
    """``(speech, music)`` estimates, a passage per letter of ``pattern``:
    ``c`` clean (music 40 dB below the speech), ``m`` music 10 dB above it,
    ``a`` music alone (40 dB above the speech), ``s`` silence; a lower-case ``t`` adds a tail of a fifth of a passage
    that copies the passage before it."""
    rng = np.random.default_rng(seed)
    shape = lambda n: (n,) if channels is None else (n, channels)   # noqa: E731
    speech, music = [], []
    for letter in pattern:
        n = PASSAGE // 5 if letter == 't' else PASSAGE
        kind = pattern[pattern.index('t') - 1] if letter == 't' else letter
        s, m = rng.standard_normal(shape(n)), rng.standard_normal(shape(n))
        level = {'c': (1.0, 0.01), 'm': (1.0, 3.2), 'a': (0.01, 1.0),
                 's': (0.0, 0.0)}[kind]
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
    gate = PassageGate(20.0, None, PASSAGE, FADE)
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
    assert (gate.passages, gate.count(CLEAN)) == (5, 3)
    assert gate.kept == pytest.approx(3 * p - 1.5 * FADE, abs=1)


def test_a_clean_stream_comes_out_whole_and_a_separated_one_untouched():
    speech, music = estimates('ccct')
    gate = PassageGate(20.0, None, PASSAGE, FADE)
    speech_out, music_out = run(gate, speech, music)
    np.testing.assert_array_equal(speech_out, speech + music)
    assert not np.any(music_out)
    assert (gate.passages, gate.count(CLEAN), gate.kept) == (3, 3, len(speech))

    speech, music = estimates('mmm')
    gate = PassageGate(20.0, None, PASSAGE, FADE)
    speech_out, music_out = run(gate, speech, music)
    np.testing.assert_array_equal(speech_out, speech)
    np.testing.assert_array_equal(music_out, music)
    assert (gate.passages, gate.count(CLEAN), gate.kept) == (3, 0, 0.0)


@pytest.mark.parametrize('block', [1, 37, 999, 1000, 1001, 4321])
def test_the_outputs_do_not_depend_on_the_block_sizes(block):
    speech, music = estimates('cmccmt', seed=3)
    whole = run(PassageGate(20.0, None, PASSAGE, FADE), speech, music)
    pieces = run(PassageGate(20.0, None, PASSAGE, FADE), speech, music, block)
    for a, b in zip(whole, pieces):
        np.testing.assert_array_equal(a, b)


def test_a_short_tail_follows_the_passage_before_it_and_a_long_one_is_judged():
    # a tail of a fifth of a passage of music after a clean passage stays clean
    speech, music = estimates('c')
    tail_s, tail_m = estimates('m', seed=1)
    n = PASSAGE // 5
    s, m = np.concatenate([speech, tail_s[:n]]), np.concatenate([music, tail_m[:n]])
    gate = PassageGate(20.0, None, PASSAGE, FADE)
    speech_out, _ = run(gate, s, m)
    np.testing.assert_array_equal(speech_out, s + m)
    assert (gate.passages, gate.count(CLEAN)) == (1, 1)
    assert gate.decisions == [(0, len(s), CLEAN)]
    # three fifths of a passage of music: a passage of its own, separated
    n = 3 * PASSAGE // 5
    s, m = np.concatenate([speech, tail_s[:n]]), np.concatenate([music, tail_m[:n]])
    gate = PassageGate(20.0, None, PASSAGE, FADE)
    speech_out, _ = run(gate, s, m)
    np.testing.assert_array_equal(speech_out[PASSAGE:], s[PASSAGE:])
    assert (gate.passages, gate.count(CLEAN)) == (2, 1)
    assert gate.decisions == [(0, PASSAGE, CLEAN), (PASSAGE, n, SEPARATED)]


def test_silence_is_not_clean_and_channels_share_one_gain():
    speech, music = estimates('sc', channels=2)
    gate = PassageGate(20.0, None, PASSAGE, FADE)
    speech_out, music_out = run(gate, speech, music)
    assert speech_out.shape == music_out.shape == (2 * PASSAGE, 2)
    assert (gate.passages, gate.count(CLEAN)) == (2, 1)
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

    first, _ = next(PassageGate(20.0, None, PASSAGE, FADE).gated(endless()))
    assert len(first) == PASSAGE
    assert sum(pulled) <= 2 * PASSAGE


def test_the_threshold_divides_clean_from_not():
    speech, music = estimates('c')      # speech 40 dB above the music
    for threshold, clean in ((35.0, 1), (45.0, 0)):
        gate = PassageGate(threshold, None, PASSAGE, FADE)
        run(gate, speech, music)
        assert gate.count(CLEAN) == clean


def test_music_alone_is_silenced_and_the_rest_untouched():
    """Passages of music alone: the speech output silence and the music
    output the mixture, fading in and out inside them; a mixed passage
    between them is separated and a clean one, with --keep-clean off,
    too."""
    speech, music = estimates('amcaa')
    gate = PassageGate(None, 20.0, PASSAGE, FADE)
    speech_out, music_out = run(gate, speech, music)
    np.testing.assert_allclose(speech_out + music_out, speech + music, atol=1e-6)
    h = 1.0 - speech_out.astype(np.float64) / speech       # speech_out = (1 - h) speech
    p = PASSAGE
    np.testing.assert_allclose(h[:p - FADE], 1.0, atol=1e-5)           # no fade at the start
    np.testing.assert_allclose(h[p:3 * p], 0.0, atol=1e-6)            # mixed, clean: separated
    np.testing.assert_allclose(h[3 * p + FADE:], 1.0, atol=1e-5)      # no fade between two
    fade_out, fade_in = h[p - FADE:p], h[3 * p:3 * p + FADE]
    assert np.all(np.diff(fade_out) < 0) and np.all(np.diff(fade_in) > 0)
    np.testing.assert_allclose(fade_out, fade_in[::-1], atol=1e-5)
    assert [kind for _, _, kind in gate.decisions] == [MUSIC, SEPARATED, SEPARATED, MUSIC, MUSIC]
    assert (gate.count(MUSIC), gate.kept) == (3, 0.0)
    assert gate.silenced == pytest.approx(3 * p - FADE, abs=1)


def test_clean_and_music_alone_meet_with_a_fade_on_each_side():
    """A clean passage beside one of music alone: each fades inside
    itself, so the speech output goes from the mixture to the separated
    speech to silence, and the outputs still add up to the mixture."""
    speech, music = estimates('ca', channels=2)
    gate = PassageGate(20.0, 20.0, PASSAGE, FADE)
    speech_out, music_out = run(gate, speech, music)
    np.testing.assert_allclose(speech_out + music_out, speech + music, atol=1e-6)
    p = PASSAGE
    np.testing.assert_allclose(speech_out[:p - FADE], (speech + music)[:p - FADE], atol=1e-6)
    np.testing.assert_allclose(speech_out[p + FADE:], 0.0, atol=1e-6)
    np.testing.assert_allclose(music_out[p + FADE:], (speech + music)[p + FADE:], atol=1e-6)
    # at the meeting point both gains are down to about nothing: separated
    np.testing.assert_allclose(speech_out[p - 1:p + 1], speech[p - 1:p + 1], rtol=0.05)
    assert [kind for _, _, kind in gate.decisions] == [CLEAN, MUSIC]
    assert gate.kept == pytest.approx(p - FADE / 2, abs=1)
    assert gate.silenced == pytest.approx(p - FADE / 2, abs=1)


@pytest.mark.parametrize('speech_db, keep_clean, gate_music, kind', [
    (40.0, 35.0, None, CLEAN), (40.0, 45.0, 45.0, SEPARATED),
    (-40.0, None, 35.0, MUSIC), (-40.0, 35.0, 45.0, SEPARATED),
    (-40.0, 35.0, None, SEPARATED), (40.0, None, 35.0, SEPARATED),
    (0.0, 1.0, 1.0, SEPARATED)])
def test_judge_by_the_ratio_and_the_thresholds(speech_db, keep_clean, gate_music, kind):
    assert judge(10.0 ** (speech_db / 10.0), 1.0, keep_clean, gate_music) == kind


def test_two_silences_are_separated_whatever_the_thresholds():
    assert judge(0.0, 0.0, 1.0, 1.0) == SEPARATED
    assert judge(0.0, 1.0, None, 20.0) == MUSIC        # music with no voice at all
