"""Subtitle files in and out.

Out: SRT (`srt`), WebVTT (`webvtt-py`) and TTML in the IMSC 1.1 Text profile (written here
with ElementTree: one region at the bottom, times as media clock time on frame boundaries;
the tests validate it with `imschrm` and read it back with `ttconv`).
In: a studio's timed dialogue list as SRT, WebVTT or TTML, read with `ttconv`, whose readers
follow each format's specification, into `(start, end, text)` cues.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from fractions import Fraction
from typing import Any

from helix.events.data import SubtitleFormat
from helix.generation.jobs import JobRefused
from helix_localize.subtitles import Event

Format = SubtitleFormat
MEDIA_TYPES: dict[str, str] = {"srt": "application/x-subrip", "vtt": "text/vtt", "ttml": "application/ttml+xml"}
EXTENSIONS: dict[str, str] = {"srt": "srt", "vtt": "vtt", "ttml": "ttml"}
IMSC_TEXT = "http://www.w3.org/ns/ttml/profile/imsc1.1/text"
TT, TTP, TTS = "http://www.w3.org/ns/ttml", "http://www.w3.org/ns/ttml#parameter", "http://www.w3.org/ns/ttml#styling"
XML = "http://www.w3.org/XML/1998/namespace"


class TimedSourceError(JobRefused):
    """A studio's timed source that is not valid SRT, WebVTT or TTML."""


def write(events: list[Event], fmt: Format, *, language: str, fps: Fraction) -> bytes:
    if fmt == "srt":
        return to_srt(events)
    if fmt == "vtt":
        return to_vtt(events)
    return to_ttml(events, language=language, fps=fps)


def to_srt(events: list[Event]) -> bytes:
    import srt

    # SubRip has no escapes and players read `<…>` as tags: angle brackets become ‹ ›.
    subtitles = [srt.Subtitle(index=n, start=timedelta(milliseconds=round(e.start * 1000)), end=timedelta(milliseconds=round(e.end * 1000)),
                              content=e.text.replace("<", "‹").replace(">", "›"))
                 for n, e in enumerate(events, start=1)]
    return srt.compose(subtitles, reindex=False).encode("utf-8")


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _vtt_text(line: str) -> str:
    """Cue text as WebVTT requires it: `&`, `<` and `>` escaped (a `<` opens a tag otherwise,
    and a reader refuses the file, or drops the words)."""
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(events: list[Event]) -> bytes:
    import webvtt

    document = webvtt.WebVTT()
    for n, event in enumerate(events, start=1):
        document.captions.append(webvtt.Caption(_vtt_time(event.start), _vtt_time(event.end), [_vtt_text(x) for x in event.lines],
                                                identifier=str(n)))
    return document.content.encode("utf-8")


def to_ttml(events: list[Event], *, language: str, fps: Fraction) -> bytes:
    """IMSC 1.1 Text profile TTML: bottom region, white text on a dark background."""
    ET.register_namespace("", TT)
    ET.register_namespace("ttp", TTP)
    ET.register_namespace("tts", TTS)
    tt = ET.Element(f"{{{TT}}}tt", {
        f"{{{XML}}}lang": language, f"{{{TTP}}}contentProfiles": IMSC_TEXT, f"{{{TTP}}}timeBase": "media",
        f"{{{TTP}}}frameRate": str(round(fps)), **({f"{{{TTP}}}frameRateMultiplier": f"{fps.numerator // round(fps) or 1} "
                                                   f"{fps.denominator}"} if fps.denominator != 1 else {}),
    })
    head = ET.SubElement(tt, f"{{{TT}}}head")
    styling = ET.SubElement(head, f"{{{TT}}}styling")
    ET.SubElement(styling, f"{{{TT}}}style", {f"{{{XML}}}id": "subtitle", f"{{{TTS}}}textAlign": "center",
                                               f"{{{TTS}}}fontFamily": "proportionalSansSerif", f"{{{TTS}}}fontSize": "100%",
                                               f"{{{TTS}}}color": "white", f"{{{TTS}}}backgroundColor": "rgba(0,0,0,204)"})
    layout = ET.SubElement(head, f"{{{TT}}}layout")
    ET.SubElement(layout, f"{{{TT}}}region", {f"{{{XML}}}id": "bottom", f"{{{TTS}}}origin": "10% 75%", f"{{{TTS}}}extent": "80% 20%",
                                               f"{{{TTS}}}displayAlign": "after"})
    body = ET.SubElement(tt, f"{{{TT}}}body", {"style": "subtitle", "region": "bottom"})
    div = ET.SubElement(body, f"{{{TT}}}div")
    for n, event in enumerate(events, start=1):
        p = ET.SubElement(div, f"{{{TT}}}p", {f"{{{XML}}}id": f"e{n}", "begin": _clock(event.start), "end": _clock(event.end)})
        p.text = event.lines[0]
        for line in event.lines[1:]:
            br = ET.SubElement(p, f"{{{TT}}}br")
            br.tail = line
    out = io.BytesIO()
    ET.ElementTree(tt).write(out, encoding="utf-8", xml_declaration=True)
    return out.getvalue()


def _clock(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


# --- reading a studio's timed source -----------------------------------------------------


def read_timed(data: bytes, media_type: str = "", name: str = "") -> list[tuple[float, float, str]]:
    """(start, end, text) per cue of an SRT, WebVTT or TTML document, in time order."""
    from ttconv.imsc import reader as imsc_reader
    from ttconv.srt import reader as srt_reader
    from ttconv.vtt import reader as vtt_reader

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TimedSourceError(f"the timed source is not UTF-8 text: {exc}") from None
    kind = _kind(text, media_type, name)
    try:
        if kind == "ttml":
            doc = imsc_reader.to_model(ET.ElementTree(ET.fromstring(text)))
        elif kind == "vtt":
            doc = vtt_reader.to_model(io.StringIO(text))
        else:
            doc = srt_reader.to_model(io.StringIO(text))
    except Exception as exc:  # the readers raise many kinds of errors on malformed input
        raise TimedSourceError(f"the timed source does not parse as {kind.upper()}: {type(exc).__name__}: {exc}") from None
    cues = sorted(_cues(doc.get_body(), Fraction(0), None)) if doc is not None and doc.get_body() is not None else []
    if not cues:
        raise TimedSourceError(f"the timed source holds no timed text ({kind.upper()})")
    return [(float(s), float(e), t) for s, e, t in cues]


def _kind(text: str, media_type: str, name: str) -> str:
    head = text.lstrip()[:200]
    if head.startswith("WEBVTT") or media_type == "text/vtt" or name.endswith(".vtt"):
        return "vtt"
    if head.startswith("<") or "ttml" in media_type or name.endswith((".ttml", ".xml", ".dfxp")):
        return "ttml"
    return "srt"


def _cues(element: Any, offset: Fraction, parent_end: Fraction | None) -> Iterator[tuple[Fraction, Fraction, str]]:
    from ttconv import model

    begin = offset + (element.get_begin() or 0)
    end = offset + element.get_end() if element.get_end() is not None else parent_end
    if isinstance(element, model.P):
        text = _text(element).strip()
        if text and end is not None:
            yield begin, end, text
        return
    for child in element:
        yield from _cues(child, begin, end)


def _text(element: Any) -> str:
    from ttconv import model

    if isinstance(element, model.Text):
        return element.get_text()
    if isinstance(element, model.Br):
        return "\n"
    return "".join(_text(child) for child in element)
