"""The answers of the report routes (M14 §4), as the HTTP contract states them."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.openapi import absent


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProvinceRef(_Out):
    code: str = Field(description="Current statistics code (34 provinces since 1 July 2025).")
    name: str
    agency_code: str | None = Field(description="Level-1 agency code (mã định danh), e.g. H35.")


class Money(_Out):
    paid_count: int = Field(description="Payments collected (PAID).")
    paid_vnd: int
    refunded_count: int = Field(description="Refunds done (the bank confirmed them), on the day they were done.")
    refunded_vnd: int


class Totals(Money):
    net_vnd: int = Field(description="paid_vnd - refunded_vnd.")


class PeriodRow(Totals):
    period: str = Field(description="YYYY-MM-DD (group_by=day) or YYYY-MM (group_by=month).")


class ProvinceRow(Totals):
    province_code: str
    province_name: str


class UnitRow(Money):
    unit_code: str = Field(description="The collecting unit's agency code.")


class BankRow(Money):
    bank_code: str
    bank_name: str


class SubItemRow(Money):
    sub_item_code: str = Field(description="State-budget sub-item (mã tiểu mục), e.g. 2801.")
    sub_item_name: str


class DelayBucket(_Out):
    from_s: int
    to_s: int | None = Field(description="null: the open-ended last bucket (more than 3 days).")


class Deliveries(_Out):
    delivered: int = Field(description="Deliveries to the province completed in the range.")
    failing: int = Field(description="Deliveries that failed for the first time in the range.")
    dead: int = Field(description="Deliveries given up (dead-letter) in the range.")
    median_delay: DelayBucket | None = Field(description="The histogram bucket holding the median time from a "
                                             "receipt's issue to its delivery.")
    median_delay_s: int | None = Field(description="Upper bound of that bucket, seconds.")


class UnitAccounts(_Out):
    unit_code: str
    accounts: int


class OfficerAccounts(UnitAccounts):
    officer: str = Field(description="The creating officer's subject.")


class AccountsSection(_Out):
    total: int
    by_unit: list[UnitAccounts]
    by_officer: list[OfficerAccounts]


class CollectionsReport(_Out):
    province: ProvinceRef | None = Field(description="null: the whole country (operators).")
    date_from: str
    date_to: str
    group_by: str
    totals: Totals
    by_period: list[PeriodRow]
    by_unit: list[UnitRow]
    by_bank: list[BankRow]
    by_sub_item: list[SubItemRow]
    by_province: list[ProvinceRow] | None = absent("Per province: the whole country only.")
    deliveries: Deliveries
    accounts: AccountsSection


class AccountsReport(AccountsSection):
    province: ProvinceRef | None
    date_from: str
    date_to: str


class ExportLink(_Out):
    url: str = Field(description="A presigned link that downloads the file until expires_at.")
    expires_at: str
    file_name: str
    content_type: str
    size_bytes: int
    format: str
