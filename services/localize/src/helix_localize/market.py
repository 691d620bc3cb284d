"""Market profiles: what a locale's audience expects beyond the words, applied with Babel
(CLDR data), never with hand-written tables of formats.

- numbers in the source line are re-written in the target locale's format (1,500.5 →
  1.500,5 for de-DE);
- imperial units become metric where the market measures in metric (10 miles → 16 km),
  formatted by Babel's unit patterns;
- clock times take the locale's format (5 p.m. → 17:00);
- terms to avoid in the market are looked for in the target and reported;
- formality (formal/informal address) is recorded for the reviewer and, where a model per
  formality is configured, picks it.
The values the profile wrote are locked terms, so translation cannot change them; every
change is recorded in the translation asset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from helix_localize.terms import LockedTerm

IMPERIAL_TERRITORIES = {"US", "LR", "MM"}  # the countries that measure in imperial units
_UNITS = {  # source word -> (CLDR unit, factor to it, imperial CLDR unit)
    "miles": ("length-kilometer", Decimal("1.609344")), "mile": ("length-kilometer", Decimal("1.609344")),
    "feet": ("length-meter", Decimal("0.3048")), "foot": ("length-meter", Decimal("0.3048")),
    "yards": ("length-meter", Decimal("0.9144")), "inches": ("length-centimeter", Decimal("2.54")),
    "pounds": ("mass-kilogram", Decimal("0.45359237")), "gallons": ("volume-liter", Decimal("3.785411784")),
}
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\w])")
_UNIT = re.compile(rf"(?<![\w.,])(\d+(?:\.\d+)?)\s+({'|'.join(_UNITS)})\b", re.IGNORECASE)
_TIME = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?)(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class MarketProfile:
    locale: str
    formality: Literal["formal", "informal", "default"] = "default"
    measurement: Literal["metric", "imperial"] = "metric"
    avoid: tuple[str, ...] = ()


@dataclass
class Adapted:
    text: str
    locked: list[LockedTerm] = field(default_factory=list)
    changes: list[dict[str, str]] = field(default_factory=list)


def profile_for(locale: str, overrides: dict[str, Any] | None = None) -> MarketProfile:
    """A locale's profile: measurement system from its territory, then any configured overrides."""
    from babel import Locale

    parsed = Locale.parse(locale.replace("-", "_"))
    measurement = "imperial" if (parsed.territory or "") in IMPERIAL_TERRITORIES else "metric"
    values: dict[str, Any] = {"locale": locale, "measurement": measurement, **(overrides or {})}
    values["avoid"] = tuple(values.get("avoid", ()))
    return MarketProfile(**values)


def adapt(text: str, profile: MarketProfile) -> Adapted:
    """The source line with the market's units, times and number formats written in (see the module)."""
    from babel import Locale, numbers, units
    from babel.dates import format_time

    locale = Locale.parse(profile.locale.replace("-", "_"))
    result = Adapted(text)

    def lock(original: str, rendered: str, rule: str) -> str:
        result.changes.append({"rule": rule, "from": original, "to": rendered})
        result.locked.append(LockedTerm(rendered, "market"))
        return rendered

    def unit(match: re.Match[str]) -> str:
        if profile.measurement == "imperial":
            return match[0]
        cldr, factor = _UNITS[match[2].lower()]
        value = (Decimal(match[1]) * factor).quantize(Decimal("1") if Decimal(match[1]) * factor >= 10 else Decimal("0.1"))
        return lock(match[0], units.format_unit(value, cldr, length="short", locale=locale), "units")

    def clock(match: re.Match[str]) -> str:
        from datetime import time

        hour = int(match[1]) % 12 + (12 if match[3].lower().startswith("p") else 0)
        rendered = lock(match[0], format_time(time(hour, int(match[2] or 0)), format="short", locale=locale), "time")
        rest = match.string[match.end():]
        return rendered + "." if match[0].endswith(".") and (not rest or rest[0].isspace()) else rendered  # "5 p.m." ended a sentence

    def number(match: re.Match[str]) -> str:
        if any(match[0] in change["to"] for change in result.changes):
            return match[0]  # already written by a unit or time rule
        whole = match[1].replace(",", "")
        value = Decimal(f"{whole}.{match[2]}") if match[2] else Decimal(whole)
        pattern = "#,##0" + (f".{'0' * len(match[2])}" if match[2] else "")  # as many decimals as the source wrote
        rendered = numbers.format_decimal(value, format=pattern, locale=locale)
        return match[0] if rendered == match[0] else lock(match[0], rendered, "number")

    text = _UNIT.sub(unit, text)
    text = _TIME.sub(clock, text)
    result.text = _NUMBER.sub(number, text)
    return result


def avoided(target: str, profile: MarketProfile) -> list[str]:
    """Terms the market avoids that appear in a target line."""
    return [term for term in profile.avoid if re.search(rf"(?<!\w){re.escape(term)}(?!\w)", target, re.IGNORECASE)]
