// Reports: collections (GET /v1/reports/collections: totals and breakdowns per period, unit, bank, sub-item,
// province; deliveries), accounts created (GET /v1/reports/accounts), the export (POST /v1/reports/exports answers a
// short-lived presigned link: the browser navigates to it, a plain download that connect-src does not govern), and
// the daily receipt tables sent to the tax authority (GET /v1/receipt-reports/{unit}, resend a day). The API scopes
// each to the caller (a province administrator: their province; the tax tables: operators only).
import {
  $, api, button, day, fill, h, label, money, prefixed, query, REPORT_STATES, say, seg, table, time,
  unprefixed, vnDay,
} from "../lib/console.js";
import { ready } from "../lib/dom.js";
import { vnd } from "../lib/format.js";
import { clearErrors, onSubmit, showProblem, values } from "../lib/forms.js";
import { requireSession } from "../lib/session.js";

const reportForm = $("#form-bao-cao");
const exportForm = $("#form-xuat");
const taxForm = $("#form-bang-thue");
const FORBIDDEN_TAX = "Bảng tổng hợp biên lai gửi cơ quan thuế chỉ dành cho quản trị hệ thống.";
let taxUnit = "";

const count = (n) => String(n ?? 0);
const sumRow = (label, rows) => [label, count(rows.reduce((a, r) => a + r.paid_count, 0)),
  money(rows.reduce((a, r) => a + r.paid_vnd, 0)), count(rows.reduce((a, r) => a + r.refunded_count, 0)),
  money(rows.reduce((a, r) => a + r.refunded_vnd, 0))];
const FIGURES = [{ label: "Số giao dịch đã thu", num: true }, { label: "Số tiền đã thu", num: true },
  { label: "Số giao dịch hoàn tiền", num: true }, { label: "Số tiền đã hoàn", num: true }];
const figures = (r) => [count(r.paid_count), money(r.paid_vnd), count(r.refunded_count), money(r.refunded_vnd)];

function params(v) {
  return { date_from: v.date_from, date_to: v.date_to, province: v.province, group_by: v.group_by };
}

function breakdown(caption, first, rows, cells, empty) {
  return table({ caption, columns: [first, ...FIGURES], rows: rows.map((r) => [cells(r), ...figures(r)]),
    foot: rows.length > 1 ? sumRow("Tổng cộng", rows) : null, empty });
}

function drawCollections(r) {
  const scope = r.province ? `${r.province.name} (mã ${r.province.code}${r.province.agency_code
    ? `, ${r.province.agency_code}` : ""})` : "Cả nước";
  const d = r.deliveries;
  fill($("#ket-qua-thu"),
    h("h3", {}, `${scope}, từ ${day(r.date_from)} đến ${day(r.date_to)}`),
    h("ul", { class: "console-figures", "aria-label": "Tổng hợp" },
      [["Số giao dịch đã thu", count(r.totals.paid_count)], ["Số tiền đã thu", vnd(r.totals.paid_vnd)],
        ["Số giao dịch hoàn tiền", count(r.totals.refunded_count)], ["Số tiền đã hoàn", vnd(r.totals.refunded_vnd)],
        ["Thực thu", vnd(r.totals.net_vnd)]].map(([t, v]) => h("li", {}, t, h("strong", {}, v)))),
    table({ caption: r.group_by === "month" ? "Theo tháng" : "Theo ngày",
      columns: ["Kỳ", ...FIGURES, { label: "Thực thu", num: true }],
      rows: r.by_period.map((p) => [p.period.length === 7 ? `${p.period.slice(5)}/${p.period.slice(0, 4)}`
        : day(p.period), ...figures(p), money(p.net_vnd)]),
      empty: "Không có giao dịch nào trong khoảng ngày này." }),
    breakdown("Theo đơn vị thu", "Đơn vị", r.by_unit, (u) => u.unit_code, "Không có đơn vị nào có giao dịch."),
    breakdown("Theo ngân hàng", "Ngân hàng", r.by_bank, (b) => `${b.bank_name} (${b.bank_code})`,
      "Không có ngân hàng nào có giao dịch."),
    breakdown("Theo tiểu mục", "Tiểu mục", r.by_sub_item, (s) => `${s.sub_item_code} – ${s.sub_item_name}`,
      "Không có tiểu mục nào có giao dịch."),
    r.by_province ? breakdown("Theo tỉnh", "Tỉnh", r.by_province, (p) => `${p.province_name} (${p.province_code})`,
      "Không có tỉnh nào có giao dịch.") : null,
    table({ caption: "Chuyển biên lai về phần mềm một cửa của tỉnh", columns: ["Chỉ tiêu", { label: "Số lượng", num: true }],
      rows: [["Đã chuyển", count(d.delivered)], ["Lỗi lần đầu", count(d.failing)], ["Không chuyển được", count(d.dead)],
        ["Thời gian chuyển trung vị", d.median_delay_s === null ? "Chưa có" : `≤ ${delay(d.median_delay_s)}`]] }));
}

function delay(s) {
  if (s < 120) return `${s} giây`;
  if (s < 7200) return `${Math.round(s / 60)} phút`;
  return `${Math.round(s / 3600)} giờ`;
}

function drawAccounts(r) {
  fill($("#ket-qua-tk"),
    h("p", {}, `${r.province ? r.province.name : "Cả nước"}, từ ${day(r.date_from)} đến ${day(r.date_to)}: `,
      h("strong", {}, `${r.total} tài khoản`), "."),
    table({ caption: "Tài khoản đã tạo theo đơn vị", columns: ["Đơn vị", { label: "Số tài khoản", num: true }],
      rows: r.by_unit.map((u) => [u.unit_code, count(u.accounts)]), empty: "Chưa có tài khoản nào được tạo." }),
    table({ caption: "Tài khoản đã tạo theo cán bộ", columns: ["Cán bộ", "Đơn vị", { label: "Số tài khoản", num: true }],
      rows: r.by_officer.map((o) => [o.officer, o.unit_code, count(o.accounts)]), empty: "Chưa có tài khoản nào được tạo." }));
}

async function showReports(v) {
  clearErrors(reportForm);
  $("#loi-tai-khoan").hidden = true;
  try {
    drawCollections(await api("GET", `/v1/reports/collections${query(params(v))}`));
  } catch (problem) {
    fill($("#ket-qua-thu"));
    showProblem(reportForm, problem, { REPORT_PROVINCE_FORBIDDEN: "province", REPORT_PROVINCE_UNKNOWN: "province",
      DATE_RANGE_INVALID: "date_to", DATE_RANGE_TOO_LONG: "date_to" });
    return;
  }
  try {
    drawAccounts(await api("GET", `/v1/reports/accounts${query({ ...params(v), group_by: null,
      unit_code: v.unit_code })}`));
  } catch (problem) {
    fill($("#ket-qua-tk"));
    showProblem(reportForm, problem, { UNIT_FORBIDDEN: "unit_code" });
  }
}

async function exportFile(v) {
  clearErrors(exportForm);
  const r = values(reportForm);
  const body = { report: v.report, format: v.format, date_from: r.date_from, date_to: r.date_to,
    group_by: r.group_by || "day" };
  if (r.province) body.province = r.province;
  if (v.breakdown) body.breakdown = v.breakdown;
  if (v.report === "accounts" && r.unit_code) body.unit_code = r.unit_code;
  try {
    const link = await api("POST", "/v1/reports/exports", { json: body });
    // A navigation (not a fetch): the presigned link may be on the storage's own origin, which connect-src 'self'
    // would refuse to fetch; the file answers as an attachment, so the page stays where it is.
    const a = h("a", { href: link.url, download: link.file_name, rel: "noopener" }, `Tải tệp ${link.file_name}`);
    fill($("#kq-xuat"), h("span", { class: "status__icon", "aria-hidden": "true" }, "✓"), " ",
      `Đã tạo tệp ${link.file_name} (${Math.max(1, Math.round(link.size_bytes / 1024))} KB). Nếu tệp chưa tự tải về: `,
      a, ` (liên kết dùng được đến ${time(link.expires_at)}).`);
    $("#kq-xuat").dataset.tone = "ok";
    $("#kq-xuat").hidden = false;
    a.click();
  } catch (problem) {
    $("#kq-xuat").hidden = true;
    showProblem(exportForm, problem);
  }
}

async function showTax(v) {
  clearErrors(taxForm);
  $("#kq-bang-thue").hidden = true;
  const q = unprefixed(v, "t_");
  taxUnit = q.unit_code || "";
  try {
    const answer = await api("GET", `/v1/receipt-reports/${seg(taxUnit)}${query({ from_day: q.from_day,
      to_day: q.to_day })}`);
    drawTax(answer.days);
  } catch (problem) {
    fill($("#ds-bang-thue"));
    showProblem(taxForm, prefixed(problem, "t_"), { COLLECTING_UNIT_NOT_FOUND: "t_unit_code" },
      problem.status === 403 ? [h("p", {}, FORBIDDEN_TAX)] : []);
  }
}

let taxDays = [];
function drawTax(days) {
  taxDays = days;
  fill($("#ds-bang-thue"), table({
    caption: `Bảng tổng hợp biên lai của ${taxUnit}`, empty: "Không có ngày nào có biên lai trong khoảng này.",
    columns: ["Ngày", { label: "Số biên lai", num: true }, "Trạng thái", { label: "Số dòng đã báo cáo", num: true },
      { label: "Số lần gửi", num: true }, "Lỗi gần nhất", "Mã tiếp nhận", "Lần gửi gần nhất", "Thao tác"],
    rows: days.map((d) => {
      const last = d.history[d.history.length - 1];
      return [day(d.day), count(d.rows), label(REPORT_STATES, d.state), count(d.reported_rows), count(d.submissions),
        d.last_error || "", d.ack_id || "", last ? `${time(last.at)}: ${last.outcome}` : "",
        button("Gửi lại", () => resend(d), { attrs: { "aria-label": `Gửi lại bảng ngày ${day(d.day)}` } })];
    }),
  }));
}

async function resend(d) {
  clearErrors(taxForm);
  try {
    const after = await api("POST", `/v1/receipt-reports/${seg(taxUnit)}/${seg(d.day)}/resend`);
    drawTax(taxDays.map((x) => (x.day === after.day ? after : x)));
    say($("#kq-bang-thue"), `Đã gửi lại bảng ngày ${day(after.day)}: ${label(REPORT_STATES, after.state)}.`,
      after.state === "ACKED" ? "ok" : "bad");
  } catch (problem) {
    showProblem(taxForm, problem);
  }
}

if (requireSession("staff")) {
  $("#date_from").value = vnDay(-30);
  $("#date_to").value = vnDay(0);
  $("#t_to_day").value = vnDay(0);
  $("#t_from_day").value = vnDay(-30);
  onSubmit(reportForm, "Đang tải…", showReports);
  onSubmit(exportForm, "Đang tạo tệp…", exportFile);
  onSubmit(taxForm, "Đang tải…", showTax);
  ready(...[reportForm, exportForm, taxForm].map((f) => f.querySelector("[type=submit]")));
  reportForm.requestSubmit();
}
