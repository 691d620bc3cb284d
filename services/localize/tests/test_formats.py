"""Subtitle files judged by libraries Helix did not write: pysrt and srt read the SRT,
webvtt-py the WebVTT, imschrm validates the TTML against the IMSC hypothetical render model,
and ttconv converts it with every event kept."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from fractions import Fraction

import pytest

from helix_localize import formats
from helix_localize.rules import rules_for
from helix_localize.subtitles import Event, segment

from .conftest import cues_for

FPS = Fraction(24000, 1001)


@pytest.fixture(params=["de", "ja", "es"])
def events(request: pytest.FixtureRequest, earnest_lines: list[dict], earnest_timing: list) -> tuple[str, list[Event]]:
    language = request.param
    return language, segment(cues_for(earnest_lines, earnest_timing, language), rules_for(language), FPS).events


def test_srt_reads_back_with_pysrt_and_srt(events: tuple[str, list[Event]]) -> None:
    import pysrt
    import srt

    _, evs = events
    data = formats.to_srt(evs).decode()
    by_pysrt = pysrt.from_string(data)
    by_srt = list(srt.parse(data))
    assert len(by_pysrt) == len(by_srt) == len(evs)
    for event, a, b in zip(evs, by_pysrt, by_srt, strict=True):
        assert a.text == b.content == event.text
        assert abs(a.start.ordinal / 1000 - event.start) < 0.001 and abs(b.end.total_seconds() - event.end) < 0.001


def test_webvtt_reads_back(events: tuple[str, list[Event]]) -> None:
    import webvtt

    _, evs = events
    captions = list(webvtt.from_buffer(io.StringIO(formats.to_vtt(evs).decode())))
    assert [c.text for c in captions] == [e.text for e in evs]
    assert all(abs(c.start_in_seconds + c.start_time.milliseconds / 1000 - e.start) < 0.002 or abs(_secs(c.start) - e.start) < 0.002
               for c, e in zip(captions, evs, strict=True))


def _secs(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_ttml_is_imsc_1_1_text_and_passes_the_hypothetical_render_model(events: tuple[str, list[Event]],
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    import imschrm.doc_sequence
    import imschrm.hrm
    from ttconv.imsc import reader as imsc_reader
    from ttconv.srt import writer as srt_writer

    language, evs = events
    data = formats.to_ttml(evs, language=language, fps=FPS)
    root = ET.fromstring(data)
    assert root.get("{http://www.w3.org/ns/ttml#parameter}contentProfiles") == formats.IMSC_TEXT
    doc = imsc_reader.to_model(ET.ElementTree(root))
    assert doc is not None
    assert [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "WARNING")] == [], "ttconv reads every attribute"

    class Strict(imschrm.hrm.EventHandler):
        errors: list[str] = []

        def error(self, msg, doc_index, time_offset, available_time, stats):  # noqa: ANN001, ANN201
            self.errors.append(msg)

    handler = Strict()
    imschrm.hrm.validate(imschrm.doc_sequence.iter_isd([(0, None, data.decode())]), handler)
    assert handler.errors == []
    converted = srt_writer.from_model(doc)  # ttconv's own IMSC → SRT path keeps every event
    assert converted.count(" --> ") == len(evs)
    assert formats.read_timed(data) == [(pytest.approx(e.start, abs=1e-3), pytest.approx(e.end, abs=1e-3), e.text) for e in evs]


def test_a_studio_timed_source_in_each_format_reads_the_same(events: tuple[str, list[Event]]) -> None:
    _, evs = events
    expected = [(pytest.approx(e.start, abs=6e-4), pytest.approx(e.end, abs=6e-4), e.text) for e in evs]
    for fmt in ("srt", "vtt", "ttml"):
        data = formats.write(evs, fmt, language="xx", fps=FPS)  # type: ignore[arg-type]
        assert formats.read_timed(data, formats.MEDIA_TYPES[fmt]) == expected, fmt


@pytest.mark.parametrize("bad", [b"", b"<tt xmlns='http://www.w3.org/ns/ttml'><body><div><p>no times", b"\xff\xfe\x00garbage",
                                 b"1\n00:00:01,000 --> \nbroken\n"])
def test_a_timed_source_that_does_not_parse_is_refused_with_the_reason(bad: bytes) -> None:
    with pytest.raises(formats.TimedSourceError, match="timed source"):
        formats.read_timed(bad)


def test_text_with_markup_characters_reads_back_as_written_in_every_format() -> None:
    # A line a small model wrote with a tag and an ampersand in it: a WebVTT cue that kept them
    # as they were opened a tag, and the reader refused the file (the animatic was never cut).
    evs = [Event(0.5, 2.0, ["Tom & Mara </speaker>", "a < b > c"], "s1-l1"), Event(2.5, 4.0, ["<i>not markup</i>"], "s1-l2")]
    for fmt in ("srt", "vtt", "ttml"):
        data = formats.write(evs, fmt, language="es", fps=FPS)  # type: ignore[arg-type]
        written = [e.text.replace("<", "‹").replace(">", "›") if fmt == "srt" else e.text for e in evs]  # SubRip has no escapes
        assert [text for _, _, text in formats.read_timed(data, formats.MEDIA_TYPES[fmt])] == written, fmt
