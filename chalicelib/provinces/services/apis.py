"""A province's API configuration as the delivery and alert use cases read it: cached per container for
``settings.delivery.config_cache_s``, forgotten at once in this container after a change."""
from __future__ import annotations

from chalicelib.core.clock import epoch
from chalicelib.provinces.domain.delivery import ApiType
from chalicelib.provinces.domain.registry import ProvinceApi
from chalicelib.provinces.ports import ProvincesContext
from chalicelib.receipts.units import collecting_unit_name


def province_apis(psvc: ProvincesContext, province: str) -> dict[ApiType, ProvinceApi]:
    cache = psvc.caches.setdefault("apis", {})
    now = epoch(psvc.clock.now())
    hit = cache.get(province)
    if hit is not None and hit[0] > now:
        return hit[1]
    apis = psvc.registry.get_apis(province)
    cache[province] = (now + psvc.settings.delivery.config_cache_s, apis)
    return apis


def forget_province(psvc: ProvincesContext, province: str) -> None:
    """After a configuration change: this container sees it at once (others within config_cache_s)."""
    psvc.caches.setdefault("apis", {}).pop(province, None)
    tokens = psvc.caches.setdefault("tokens", {})
    for key in [k for k in tokens if k[0] == province]:
        tokens.pop(key, None)



def province_name(psvc: ProvincesContext, code: str) -> str:
    """The name the province registered with its APIs, else the collecting unit's name."""
    apis = province_apis(psvc, code)
    return next((a.province_name for a in apis.values()), None) or collecting_unit_name(code)
