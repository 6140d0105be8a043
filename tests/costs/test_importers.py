"""The cost importers: FOCUS columns by name, NULLs, dates, full precision, tags and `x_`
columns, corrections and credits as rows of their own, all or nothing with every bad row named,
the same file and the same rows once; and the generic CSV / XLSX file."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest

from costs.models import CostItem
from costs.selectors import cost_summary
from costs.services import cost_import_create
from finops.errors import NotAllowed
from finops.jobs.models import Job, JobStatus
from finops.tenancy.context import tenant_context

HEADER = "ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ChargeClass,BilledCost,EffectiveCost,BillingCurrency,ProviderName,ServiceName"


def focus(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def items(org) -> list[CostItem]:
    with tenant_context(org):
        return list(CostItem.objects.order_by("line", "id"))


def problems(job: Job) -> list[tuple[int | None, str]]:
    return [(e["line"], e["message"]) for e in job.errors]


def test_columns_are_found_by_name_in_any_order_and_case(org, import_costs):
    data = focus("USD,AWS,12.5,10.25,usage,2025-04-01T00:00:00Z", header="billingcurrency,PROVIDERNAME,billedCost,"
                 "EffectiveCost,chargecategory,ChargePeriodStart")

    job = import_costs(org, data)

    assert job.status == JobStatus.SUCCEEDED, job.errors
    [item] = items(org)
    assert (item.charge_period_start, item.month, item.charge_category, item.provider, item.billed_cost,
            item.effective_cost, item.billing_currency, item.line) == (
        date(2025, 4, 1), date(2025, 4, 1), "Usage", "AWS", Decimal("12.5"), Decimal("10.25"), "USD", 2)


def test_costs_keep_every_decimal_and_what_does_not_fit_is_refused_not_rounded(org, import_costs):
    job = import_costs(org, focus("2025-04-01,,Usage,,0.000000123456,1234567.123456789012,USD,AWS,EC2"))
    assert job.status == JobStatus.SUCCEEDED, job.errors
    [item] = items(org)
    assert (item.billed_cost, item.effective_cost) == (Decimal("0.000000123456"), Decimal("1234567.123456789012"))

    refused = import_costs(org, focus("2025-04-02,,Usage,,0.0000001234567,1,USD,AWS,EC2",
                                      "2025-04-02,,Usage,,1234567890123456,1,USD,AWS,EC2",
                                      "2025-04-02,,Usage,,1.5E-07,$2.00 ,USD,AWS,EC2"), filename="more.csv")

    assert refused.status == JobStatus.FAILED
    assert problems(refused) == [
        (2, "BilledCost “0.0000001234567” has more than 12 decimals: costs are kept to 12 decimals, never rounded."),
        (3, "BilledCost “1234567890123456” is too large (at most 15 digits before the decimal point)."),
    ]
    assert refused.message == "2 problems found: nothing was imported."
    assert len(items(org)) == 1


def test_one_bad_row_imports_nothing_and_every_bad_cell_is_named_with_its_line_and_column(org, import_costs):
    data = focus("2025-04-01,2025-05-01,Usage,,10.00,10.00,USD,AWS,EC2",
                 "2025-04-01,2025-05-01,Usage,,ten,10.00,USD,AWS,EC2",
                 "2025-04-31,2025-05-01,Refund,Fix,1,1,XYZ,AWS,EC2",
                 "2025-04-01,2025-05-01,Usage,,,NULL,USD,AWS,EC2",
                 "2025-05-01,2025-04-01,Usage,,1,1,USD,AWS,EC2",
                 "2025-04-01,2025-05-01,Usage,,1,1,USD,AWS,EC2,extra")

    job = import_costs(org, data)

    assert (job.status, job.rows, job.error_count) == (JobStatus.FAILED, 6, 9)
    assert problems(job) == [
        (3, "BilledCost “ten” is not a number like 1234.56, -1234.56, 1,234.56 or (1,234.56)."),
        (4, "ChargePeriodStart “2025-04-31” is not a date: write 2025-04-01, 2025-04-01T00:00:00Z or 4/1/25 "
            "(month/day/year)."),
        (4, "ChargeCategory “Refund” is not one of Usage, Purchase, Tax, Credit, Adjustment."),
        (4, "ChargeClass “Fix” is not one of Correction."),
        (4, "BillingCurrency “XYZ” is not an ISO 4217 currency code (USD, EUR, …)."),
        (5, "BilledCost is empty."),
        (5, "EffectiveCost is empty."),
        (6, "ChargePeriodEnd 2025-04-01 is before ChargePeriodStart 2025-05-01."),
        (7, "This line has 10 values but the header has 9 columns: quote values that contain commas "
            "(e.g. \"1,234.56\")."),
    ]
    assert items(org) == []


def test_a_missing_required_column_is_named_on_the_header_line(org, import_costs):
    job = import_costs(org, focus("2025-04-01,Usage,1", header="ChargePeriodStart,ChargeCategory,BilledCost"))

    assert problems(job) == [(1, "Missing required column: EffectiveCost. A FOCUS export names at least "
                                 "ChargePeriodStart, ChargeCategory, BilledCost and EffectiveCost.")]


def test_empty_cells_and_null_in_any_case_are_missing_values(org, import_costs):
    header = "ChargePeriodStart,ChargeCategory,BilledCost,EffectiveCost,ListCost,ContractedCost,ConsumedQuantity," \
             "ConsumedUnit,ServiceName,CommitmentDiscountStatus,Tags"
    data = focus("2025-04-01,Usage,1,1,NULL,,null,NULL,,Null,NULL",
                 "2025-04-01,Usage,2,2,3,2.5,4,Hour,EC2,unused,", header=header)

    job = import_costs(org, data)

    assert job.status == JobStatus.SUCCEEDED, job.errors
    first, second = items(org)
    assert (first.list_cost, first.contracted_cost, first.consumed_quantity, first.consumed_unit, first.service_name,
            first.commitment_discount_status, first.tags) == (None, None, None, "", "", "", {})
    assert (second.list_cost, second.contracted_cost, second.consumed_quantity, second.consumed_unit,
            second.service_name, second.commitment_discount_status) == (
        Decimal("3"), Decimal("2.5"), Decimal("4"), "Hour", "EC2", "Unused")


def test_dates_are_iso_timestamps_or_month_day_year_and_a_late_hour_carries_into_the_next_day(org, import_costs):
    header = "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BilledCost,EffectiveCost"
    data = focus("4/1/25,5/1/25,4/1/25,4/2/25,Usage,1,1",
                 "2023-01-01T00:00:00Z,2023-02-01T00:00:00Z,2023-01-01T20:00:00Z,2023-02-01T30:00:00Z,Purchase,1,0",
                 "12/31/2024,01/01/2025,2024-12-31 23:30:00-02:00,2025-01-01,Usage,1,1", header=header)

    job = import_costs(org, data)

    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert [(i.billing_period_start, i.billing_period_end, i.charge_period_start, i.charge_period_end, i.month)
            for i in items(org)] == [
        (date(2025, 4, 1), date(2025, 5, 1), date(2025, 4, 1), date(2025, 4, 2), date(2025, 4, 1)),
        (date(2023, 1, 1), date(2023, 2, 1), date(2023, 1, 1), date(2023, 2, 2), date(2023, 1, 1)),
        (date(2024, 12, 31), date(2025, 1, 1), date(2025, 1, 1), date(2025, 1, 1), date(2025, 1, 1)),
    ]
    refused = import_costs(org, focus("13/1/25,5/1/25,1/1/1900,4/2/25,Usage,1,1", header=header), filename="x.csv")
    assert problems(refused) == [
        (2, "BillingPeriodStart “13/1/25” is not a date: write 2025-04-01, 2025-04-01T00:00:00Z or 4/1/25 "
            "(month/day/year)."),
        (2, "ChargePeriodStart “1/1/1900” is outside the accepted window "
            f"1990-01-01 … {date.today().year + 10}-12-31."),
    ]


def test_tags_are_a_json_object_and_bad_json_is_a_named_row_error(org, import_costs):
    header = "ChargePeriodStart,ChargeCategory,BilledCost,EffectiveCost,Tags"
    job = import_costs(org, focus('2025-04-01,Usage,1,1,"{""team"": ""web"", ""env"": ""prod""}"', header=header))
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert items(org)[0].tags == {"team": "web", "env": "prod"}

    refused = import_costs(org, focus('2025-04-02,Usage,1,1,"{""team"": web}"', '2025-04-02,Usage,1,1,"[1, 2]"',
                                      header=header), filename="bad-tags.csv")

    assert problems(refused) == [
        (2, 'Tags “{"team": web}” is not valid JSON (Expecting value at character 10): write a JSON object such as '
            '{"team": "web"}.'),
        (3, 'Tags “[1, 2]” is not a JSON object: write tags as {"team": "web"}.'),
    ]


def test_x_columns_and_other_focus_columns_are_kept_as_written(org, import_costs):
    header = "ChargePeriodStart,ChargeCategory,BilledCost,EffectiveCost,x_CommitmentDiscountUnitPrice,x_Team,SkuMeter,ListUnitPrice"
    job = import_costs(org, focus("2025-04-01,Usage,1,1,0.50,NULL,Compute Hours,0.0125", header=header))

    assert job.status == JobStatus.SUCCEEDED, job.errors
    [item] = items(org)
    assert item.x_columns == {"x_CommitmentDiscountUnitPrice": "0.50"}
    assert item.other_columns == {"SkuMeter": "Compute Hours", "ListUnitPrice": "0.0125"}


def test_corrections_and_credits_are_rows_of_their_own_and_sums_net_them(org, import_costs):
    job = import_costs(org, focus("2025-04-01,2025-05-01,Usage,,10.00,8.00,USD,AWS,EC2",
                                  "2025-04-01,2025-05-01,Credit,,-2.50,-2.50,USD,AWS,EC2",
                                  "2025-04-01,2025-05-01,Usage,Correction,-1.00,-0.80,USD,AWS,EC2"))
    again = import_costs(org, focus("2025-04-01,2025-05-01,Usage,Correction,0.25,0.25,USD,AWS,EC2"),
                         filename="late-correction.csv")

    assert (job.result["items_created"], again.result["items_created"]) == (3, 1)
    assert [(i.charge_category, i.charge_class, i.billed_cost) for i in items(org)] == [
        ("Usage", "", Decimal("10.00")), ("Usage", "Correction", Decimal("0.25")),
        ("Credit", "", Decimal("-2.50")), ("Usage", "Correction", Decimal("-1.00"))]
    [total] = cost_summary(tenant=org)
    assert (total.billed_cost, total.effective_cost, total.items) == (Decimal("6.75"), Decimal("4.95"), 4)


def test_the_same_file_again_is_recognised_and_changes_nothing(org, import_costs):
    data = focus("2025-04-01,,Usage,,1.10,1.10,USD,AWS,EC2", "2025-04-01,,Usage,,1.10,1.10,USD,AWS,EC2")
    first = import_costs(org, data, filename="april.csv")

    again = import_costs(org, data, filename="april-copy.csv")

    assert (first.status, first.result["items_created"]) == (JobStatus.SUCCEEDED, 2)  # two identical charges
    assert (again.status, again.duplicate_of_id) == (JobStatus.DUPLICATE, first.pk)
    assert again.message.startswith("This file was already imported on ")
    assert again.message.endswith(f"(import #{first.pk}, april.csv): nothing changed.")
    assert len(items(org)) == 2


def test_rows_imported_before_in_another_file_are_skipped_not_counted_twice(org, import_costs):
    import_costs(org, focus("2025-04-01,,Usage,,1.10,1.10,USD,AWS,EC2"), filename="april.csv")
    # The same charge written differently, twice (a second identical charge), and a new one.
    overlap = focus("4/1/25,,usage,,1.1,1.100,usd,AWS,EC2", "2025-04-01T00:00:00Z,,Usage,,1.10,1.10,USD,AWS,EC2",
                    "2025-04-02,,Usage,,5,5,USD,AWS,EC2")

    job = import_costs(org, overlap, filename="april-again.csv")

    assert (job.status, job.rows, job.result["items_created"], job.result["items_skipped"]) == (
        JobStatus.SUCCEEDED, 3, 2, 1)
    assert job.message == "3 rows: 2 cost items created, 1 already imported (skipped)."
    assert sorted((i.charge_period_start, i.billed_cost, i.occurrence) for i in items(org)) == [
        (date(2025, 4, 1), Decimal("1.1"), 1), (date(2025, 4, 1), Decimal("1.1"), 2),
        (date(2025, 4, 2), Decimal("5"), 1)]


def test_a_file_without_a_currency_column_is_in_the_organisations_currency_and_says_so(org, import_costs):
    job = import_costs(org, focus("2025-04-01,Usage,1,1", header="ChargePeriodStart,ChargeCategory,BilledCost,EffectiveCost"))

    assert job.message == ("1 row: 1 cost item created, 0 already imported (skipped). The file has no BillingCurrency "
                           "column: its costs were taken to be in USD, the organisation's currency.")
    assert items(org)[0].billing_currency == "USD"


GENERIC = ("date,vendor,description,amount,currency,cost_center,account,tags\n"
           "2025-04-03,Figma,Design seats,450.00,,OPS,6200,team=design; env=prod\n"
           "4/15/25,Figma,Refund of an unused seat,-45.00,USD,OPS,6200,\n"
           "2025-04-20,Hetzner,Servers,\"1,234.567\",EUR,ENG,6300,\"{\"\"team\"\": \"\"platform\"\"}\"\n")


def test_a_generic_csv_file_imports_its_amounts_as_billed_and_effective_cost(org, import_costs):
    job = import_costs(org, GENERIC.encode(), "csv", filename="april.csv")

    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert [(i.charge_period_start, i.vendor, i.provider, i.description, i.charge_category, i.billed_cost,
             i.effective_cost, i.billing_currency, i.cost_center_code, i.account_code, i.tags) for i in items(org)] == [
        (date(2025, 4, 3), "Figma", "Figma", "Design seats", "Usage", Decimal("450.00"), Decimal("450.00"), "USD",
         "OPS", "6200", {"team": "design", "env": "prod"}),
        (date(2025, 4, 15), "Figma", "Figma", "Refund of an unused seat", "Credit", Decimal("-45.00"),
         Decimal("-45.00"), "USD", "OPS", "6200", {}),
        (date(2025, 4, 20), "Hetzner", "Hetzner", "Servers", "Usage", Decimal("1234.567"), Decimal("1234.567"), "EUR",
         "ENG", "6300", {"team": "platform"}),
    ]
    refused = import_costs(org, b"date,amount,tags\n2025-04-01,,x\n", "csv", filename="bad.csv")
    assert problems(refused) == [
        (2, "amount is empty."),
        (2, 'tags “x” is not a list of tags: write team=web; env=prod, or a JSON object {"team": "web"}.'),
    ]


def test_a_generic_xlsx_file_imports_like_its_csv(org, import_costs):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Date", "Vendor", "Description", "Amount", "Currency", "Cost center", "Account"])
    sheet.append([datetime(2025, 4, 3), "Figma", "Design seats", 450.25, "USD", "OPS", "6200"])
    sheet.append([datetime(2025, 4, 4), "Slack", "Seats", 0.1, None, "SALES", 6200])
    out = io.BytesIO()
    book.save(out)

    job = import_costs(org, out.getvalue(), "csv", filename="april.xlsx")

    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert [(i.line, i.charge_period_start, i.vendor, i.billed_cost, i.billing_currency, i.cost_center_code,
             i.account_code) for i in items(org)] == [
        (2, date(2025, 4, 3), "Figma", Decimal("450.25"), "USD", "OPS", "6200"),
        (3, date(2025, 4, 4), "Slack", Decimal("0.1"), "USD", "SALES", "6200"),
    ]


@pytest.mark.parametrize("role", ["viewer", "director"])
def test_only_roles_that_change_the_books_may_import_costs(org, users, role):
    with pytest.raises(NotAllowed, match=f"^Your role in this organisation is {role}: only roles that may change the "
                                         "books can import cost data.$"):
        cost_import_create(tenant=org, actor=users[role], filename="a.csv", data=b"x", source_format="focus")


def test_an_import_without_an_upload_records_its_own_job_so_the_same_data_is_recognised(org):
    from costs.importers import cost_import

    data = b"date,vendor,amount\n2025-04-01,Figma,12.00\n"
    first = cost_import(tenant=org, actor=None, data=data, filename="pushed.csv", source_format="csv")
    again = cost_import(tenant=org, actor=None, data=data, filename="pushed.csv", source_format="csv")
    refused = cost_import(tenant=org, actor=None, data=b"date,amount\n2025-04-01,x\n", filename="bad.csv",
                          source_format="csv")

    assert (first.ok, first.created, first.job.status, first.job.params, bytes(first.job.content)) == (
        True, 1, JobStatus.SUCCEEDED, {"format": "csv"}, b"")
    assert (again.ok, again.duplicate_of, again.created) == (False, first.job, 0)
    assert (refused.job, refused.error_count, refused.summary()) == (None, 1, "1 problem found: nothing was imported.")
    assert [i.import_job_id for i in items(org)] == [first.job.pk]
    with tenant_context(org):
        assert Job.objects.count() == 1  # the refused import left no job behind
