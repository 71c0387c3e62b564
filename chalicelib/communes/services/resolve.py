"""M10 at intake: the current statistics commune a notice's commune code stands for (the payments ``CommuneCodes``
port).

* ``tax``: the province's confirmed map (the province comes from the dossier code). The map is cached per container
  for ``settings.commune_map_cache_s``; a code the cached map does not know is looked up once more in the stored map
  before it is refused, so a map published a moment ago is never missed.
* ``gso`` with ``commune_code_version`` omitted: a code of today's list is taken as it is; a code only in the
  pre-2025 list is translated. Codes were reused in 2025 (a merged commune's seat kept its code), so a sender of
  pre-2025 codes that are also today's codes says ``commune_code_version: 2025-06-30``.
* A pre-2025 commune split across several of today's communes is decided by the address when exactly one of the
  candidates' full names ("Phường Hoàn Kiếm") appears in it; otherwise the notice is refused with the candidates
  (422 COMMUNE_CODE_AMBIGUOUS): choosing the package's default successor could send a citizen's obligation to the
  wrong commune.
"""
from __future__ import annotations

import re

from chalicelib.communes.ports import CommunesContext
from chalicelib.communes.review import CommuneMap
from chalicelib.core import admin_units
from chalicelib.core.admin_units import CURRENT_VERSION, LEGACY_VERSION, ResolvedCommune
from chalicelib.core.clock import epoch
from chalicelib.core.errors import AppError, FieldError


def _refused(code: str, detail: str, **extra) -> AppError:
    return AppError(code, detail, 422, "Mã địa bàn hành chính không hợp lệ",
                    [FieldError("commune_code", code, detail)], extra=extra)


def _province_of(agency: str) -> admin_units.Province:
    try:
        return admin_units.current_province(agency)
    except ValueError:
        raise _refused("COMMUNE_CODE_UNKNOWN", f"Không xác định được tỉnh của mã định danh {agency} để đối chiếu "
                       "mã xã.", province_agency=agency) from None


class CommuneResolver:
    """Implements the payments ``CommuneCodes`` port over the context's map store and caches."""

    def __init__(self, ctx: CommunesContext) -> None:
        self._ctx = ctx

    def resolve(self, *, province_agency: str, code: str, system: str, version: str | None,
                address: str) -> ResolvedCommune:
        if system == "tax":
            return self._tax(_province_of(province_agency), code)
        return _standard(code, version, address)

    # -- tax codes ----------------------------------------------------------------------------------------------
    def _map(self, province_code: str, fresh: bool = False) -> tuple[CommuneMap | None, dict]:
        """The current map and its tax-code index, from the per-container cache unless ``fresh``."""
        cache = self._ctx.caches.setdefault("commune_maps", {})
        now = epoch(self._ctx.clock.now())
        hit = cache.get(province_code)
        if hit is not None and hit[0] > now and not fresh:
            return hit[1], hit[2]
        found = self._ctx.commune_maps.current(province_code)
        index = found.lookup() if found else {}
        cache[province_code] = (now + self._ctx.settings.commune_map_cache_s, found, index)
        return found, index

    def _tax(self, province: admin_units.Province, code: str) -> ResolvedCommune:
        current, index = self._map(province.stats_code)
        entry = index.get(code)
        if entry is None:
            current, index = self._map(province.stats_code, fresh=True)  # published since the cache was filled?
            entry = index.get(code)
        if entry is None:
            where = "chưa có bảng ánh xạ mã xã đã xác nhận" if current is None else \
                f"bảng ánh xạ đã xác nhận (phiên bản {current.version}) không có mã này"
            raise _refused("COMMUNE_CODE_UNKNOWN", f"Mã xã {code} của cơ quan thuế không ánh xạ được: {province.name} "
                           f"{where}.", commune_code=code, commune_code_system="tax",
                           province_code=province.stats_code, province_name=province.name)
        return ResolvedCommune(code, "tax", None, entry.standard_code, entry.standard_name, "tax_map",
                               entry.code_list_version, current.version)


def _standard(code: str, version: str | None, address: str) -> ResolvedCommune:
    if version in (None, CURRENT_VERSION):
        found = admin_units.commune(code)
        if found is not None:
            return ResolvedCommune(code, "gso", version, found.code, found.name, "as_sent")
        if version == CURRENT_VERSION:
            raise _unknown_gso(code, CURRENT_VERSION)
    legacy = admin_units.legacy_commune(code)
    if legacy is None:
        raise _unknown_gso(code, version)
    successors = admin_units.translate_legacy_commune(code)
    if len(successors) == 1:
        return ResolvedCommune(code, "gso", version, successors[0].code, successors[0].name, "legacy")
    chosen = _by_address(successors, address)
    if chosen is None:
        names = ", ".join(f"{c.name} ({c.code})" for c in successors)
        raise _refused("COMMUNE_CODE_AMBIGUOUS", f"Mã xã {code} ({legacy.commune.name}, trước 01/07/2025) đã được "
                       f"chia cho nhiều xã, phường hiện nay: {names}; địa chỉ không cho biết thuộc xã, phường nào. "
                       "Hãy gửi mã xã hiện hành.", commune_code=code,
                       candidates=[{"code": c.code, "name": c.name} for c in successors])
    return ResolvedCommune(code, "gso", version, chosen.code, chosen.name, "legacy_address")


def _unknown_gso(code: str, version: str | None) -> AppError:
    lists = {None: "danh mục hiện hành lẫn danh mục trước 01/07/2025", CURRENT_VERSION: "danh mục hiện hành",
             LEGACY_VERSION: "danh mục trước 01/07/2025"}[version]
    return _refused("COMMUNE_CODE_UNKNOWN", f"Mã xã {code} không có trong {lists}.", commune_code=code,
                    commune_code_system="gso")


_NON_WORD = re.compile(r"[^\w]+")


def _words(text: str) -> str:
    return " " + " ".join(_NON_WORD.sub(" ", admin_units.fold(text or "")).split()) + " "


def _by_address(candidates: list[admin_units.Commune], address: str) -> admin_units.Commune | None:
    """The only candidate whose full name (unit word included) appears in the address, word for word."""
    text = _words(address)
    hits = [c for c in candidates if _words(c.name) in text]
    return hits[0] if len(hits) == 1 else None
