"""The twelve seasons: stable ids, families and names in English and Korean.

The order of ``SEASONS`` is API twice over: the model's ``probabilities`` output follows it, and
clients list seasons in it. Ids never change; a new season would need a new model version.
Korean names use the usual personal-colour terms (봄/여름/가을/겨울, 웜/쿨, and 라이트, 트루,
브라이트, 뮤트, 딥 for the tonal subtype).
"""

from __future__ import annotations

from dataclasses import dataclass

FAMILIES: tuple[str, ...] = ("spring", "summer", "autumn", "winter")


@dataclass(frozen=True, slots=True)
class Season:
    """One season; ``family`` is one of ``FAMILIES``."""

    id: str
    family: str
    name_en: str
    name_ko: str

    def to_dict(self) -> dict[str, object]:
        """The ``{id, family, name: {en, ko}}`` shape of the result JSON."""
        return {
            "id": self.id,
            "family": self.family,
            "name": {"en": self.name_en, "ko": self.name_ko},
        }


SEASONS: tuple[Season, ...] = (
    Season("light-spring", "spring", "Light Spring", "봄 웜 라이트"),
    Season("true-spring", "spring", "True Spring", "봄 웜 트루"),
    Season("bright-spring", "spring", "Bright Spring", "봄 웜 브라이트"),
    Season("light-summer", "summer", "Light Summer", "여름 쿨 라이트"),
    Season("true-summer", "summer", "True Summer", "여름 쿨 트루"),
    Season("soft-summer", "summer", "Soft Summer", "여름 쿨 뮤트"),
    Season("soft-autumn", "autumn", "Soft Autumn", "가을 웜 뮤트"),
    Season("true-autumn", "autumn", "True Autumn", "가을 웜 트루"),
    Season("deep-autumn", "autumn", "Deep Autumn", "가을 웜 딥"),
    Season("deep-winter", "winter", "Deep Winter", "겨울 쿨 딥"),
    Season("true-winter", "winter", "True Winter", "겨울 쿨 트루"),
    Season("bright-winter", "winter", "Bright Winter", "겨울 쿨 브라이트"),
)

SEASON_IDS: tuple[str, ...] = tuple(season.id for season in SEASONS)
SEASONS_BY_ID: dict[str, Season] = {season.id: season for season in SEASONS}
