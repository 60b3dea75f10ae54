"""recommender/audio.py: decoding messy files into the clip and log-mel the model hears."""

import os

import numpy as np
import pytest
import soundfile as sf

from recommender.audio import load_clip, log_mel, mel_for_file, prepare, slice_mel
from recommender.config import AudioConfig
from recommender.errors import AudioError
from tests.fixtures import as_another_user, give_to_another_user, tone, write_audio, write_mp3

CFG = AudioConfig()


def test_wav_44k_stereo_becomes_mono_22k(tmp_path):
    path = write_audio(tmp_path / "stereo.wav", tone(5, sr=48_000, channels=2), 48_000)
    y = load_clip(path)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - 5 * CFG.sample_rate) <= 2


def test_long_file_keeps_the_centre_30_seconds(tmp_path):
    sr = 8_000
    # 50 s: 10 s of a low tone, 30 s of a high tone, 10 s of the low tone again.
    low, high = tone(10, sr=sr, freq=200), tone(30, sr=sr, freq=3_000)
    path = write_audio(tmp_path / "long.wav", np.concatenate([low, high, low]), sr)
    y = load_clip(path)
    assert len(y) == CFG.clip_samples
    spectrum = np.abs(np.fft.rfft(y))
    freqs = np.fft.rfftfreq(len(y), 1 / CFG.sample_rate)
    assert freqs[spectrum.argmax()] == pytest.approx(3_000, abs=5)


@pytest.mark.parametrize("suffix", [".mp3", ".flac", ".ogg", ".wav"])
def test_common_formats_decode_to_the_same_length(tmp_path, suffix):
    y = tone(4, sr=44_100, channels=2)
    path = tmp_path / f"clip{suffix}"
    write_mp3(path, y, 44_100) if suffix == ".mp3" else write_audio(path, y, 44_100)
    clip = load_clip(path)
    assert abs(len(clip) - 4 * CFG.sample_rate) < 0.1 * CFG.sample_rate  # mp3 adds encoder padding


def test_8_bit_wav(tmp_path):
    path = write_audio(tmp_path / "eight.wav", tone(4, sr=11_025), 11_025, subtype="PCM_U8")
    assert sf.info(str(path)).subtype == "PCM_U8"
    assert np.abs(load_clip(path)).max() > 0.1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (
            lambda p: p.write_text("this is not an mp3, just text\n" * 20),
            r"not an audio file \(it contains text\)",
        ),
        (lambda p: p.write_text("<!doctype html><p>Zoë – 404</p>\n" * 40, encoding="utf-8"), "contains text"),
        (lambda p: p.write_bytes(np.random.default_rng(1).bytes(20_000)), "not a readable audio file"),
    ],
    ids=["zero-byte", "text-named-mp3", "html-page-with-unicode", "random-bytes"],
)
def test_broken_files_raise_a_clear_error(tmp_path, make, message):
    path = tmp_path / "broken song.mp3"
    make(path)
    with pytest.raises(AudioError, match=message) as err:
        load_clip(path)
    assert "broken song.mp3" in str(err.value)


def test_truncated_mp3_is_rejected_not_crashing(tmp_path):
    full = write_mp3(tmp_path / "full.mp3", tone(10, sr=44_100), 44_100)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(full.read_bytes()[:2_000])  # a fraction of a second survives
    with pytest.raises(AudioError, match="cut.mp3"):
        load_clip(cut)


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        load_clip(tmp_path / "nope.wav")


def test_a_folder_or_a_fifo_says_what_it_is(tmp_path):
    (tmp_path / "songs.mp3").mkdir()
    with pytest.raises(AudioError, match=r"^songs\.mp3: is a folder, not an audio file$"):
        load_clip(tmp_path / "songs.mp3")
    os.mkfifo(tmp_path / "pipe.wav")  # opening it would wait for a writer: never opened
    with pytest.raises(AudioError, match=r"^pipe\.wav: is not a regular file \(a FIFO\)$"):
        load_clip(tmp_path / "pipe.wav")


def test_a_file_this_user_may_not_read_says_so(shared_folder):
    path = write_audio(shared_folder / "locked.wav", tone(4), 22_050)
    give_to_another_user(path)
    path.chmod(0)
    with pytest.raises(AudioError, match=r"^locked\.wav: cannot be read \(permission denied\)$"):
        as_another_user(load_clip, path)


def test_one_second_clip_is_too_short(tmp_path):
    path = write_audio(tmp_path / "short.wav", tone(1.0), 22_050)
    with pytest.raises(AudioError, match=r"1\.0 s .*too short.*at least 3 s"):
        load_clip(path)


@pytest.mark.parametrize(
    ("seconds", "shown"), [(2.99, "2.99"), (2.96, "2.96"), (2.9999, "2.9999"), (1.0, "1.0")]
)
def test_a_clip_just_too_short_never_reads_as_long_enough(tmp_path, seconds, shown):
    path = write_audio(tmp_path / "clip.wav", tone(seconds), 22_050)
    with pytest.raises(AudioError) as error:
        load_clip(path)
    assert str(error.value) == f"clip.wav: {shown} s of audio is too short; at least 3 s are needed"


def test_silent_clip_is_rejected(tmp_path):
    path = write_audio(tmp_path / "silence.wav", np.zeros(22_050 * 5, dtype=np.float32), 22_050)
    with pytest.raises(AudioError, match="silent"):
        load_clip(path)


@pytest.mark.parametrize("name", ["with space.wav", "Zoë – ünïcödé.wav", 'it\'s "quoted".wav', "-rf.wav"])
def test_hostile_file_names(tmp_path, name):
    path = write_audio(tmp_path / name, tone(3.5), 22_050)
    assert mel_for_file(path).shape[0] == CFG.n_mels


def test_log_mel_shape_range_and_loudness_invariance(rng):
    y = (0.5 * np.sin(2 * np.pi * 440 * np.arange(CFG.clip_samples) / CFG.sample_rate)).astype(np.float32)
    y += 0.01 * rng.standard_normal(len(y)).astype(np.float32)
    mel = log_mel(y)
    assert mel.shape == (128, CFG.clip_frames) == (128, 1292)
    assert mel.dtype == np.float32
    assert mel.max() == 0.0 and mel.min() >= -80.0
    # The 440 Hz band is the loudest one.
    import librosa

    centres = librosa.mel_frequencies(n_mels=128, fmin=CFG.fmin, fmax=CFG.fmax)
    assert abs(centres[mel.mean(axis=1).argmax()] - 440) < 40
    np.testing.assert_allclose(log_mel(0.1 * y), mel, atol=1e-3)


def test_prepare_pads_nothing_and_keeps_short_clips(rng):
    y = rng.uniform(-0.5, 0.5, 22_050 * 4).astype(np.float32)
    assert len(prepare(y, 22_050)) == 22_050 * 4


@pytest.mark.parametrize(("frames", "slices"), [(1292, 10), (128, 1), (255, 1), (256, 2), (100, 1)])
def test_slices(rng, frames, slices):
    mel = rng.uniform(-80, 0, (128, frames)).astype(np.float32)
    out = slice_mel(mel)
    assert out.shape == (slices, 128, 128)
    if frames >= 128:
        np.testing.assert_array_equal(out[0], mel[:, :128])
    else:  # padded with the quietest value
        assert out[0, :, frames:].max() == mel.min()


def test_m4a_without_ffmpeg_says_what_is_missing(tmp_path, monkeypatch):
    import shutil

    from recommender.audio import can_decode, decode

    monkeypatch.setattr(shutil, "which", lambda name: None)
    path = tmp_path / "song.m4a"
    path.write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(200))  # an MP4 header, nothing libsndfile reads
    assert not can_decode(".m4a") and can_decode(".flac")
    with pytest.raises(
        AudioError, match="song.m4a: M4A audio needs ffmpeg to be decoded, and this machine has none"
    ):
        decode(path)
