// Reconciliation and refunds (operators): settlement runs (GET /v1/reconciliation/runs, paged, filters bank, days,
// status), a run with its discrepancies (GET .../runs/{run_id}, filters category and status, paged), resolving one
// with a note (POST .../discrepancies/{key}/resolve), re-running a bank's day (POST /v1/reconciliation/runs); refunds
// by state (GET /v1/operator/refunds), one with its audit trail, request, approve (another operator than the
// requester: the API says so when not), reject with a note, send again. Any other role gets the API's 403, explained.
import { banks } from "../lib/banks.js";
import {
  $, api, button, CATEGORIES, cursorPager, DISCREPANCY_STATUS, fill, focusOn, h, label, money, options,
  prefixed, query, refusal, REFUND_ACTIONS, REFUND_STATES, RUN_ACTIONS, RUN_STATUS, say, seg, table, time, TRIGGERS,
  unprefixed, day,
} from "../lib/console.js";
import { facts, ready } from "../lib/dom.js";
import { vnd } from "../lib/format.js";
import { clearErrors, onSubmit, showProblem } from "../lib/forms.js";
import { requireSession } from "../lib/session.js";

const OPERATOR_ONLY = "Đối soát và hoàn tiền chỉ dành cho quản trị hệ thống (Văn phòng Chính phủ, Cục Kiểm soát thủ "
  + "tục hành chính). Quản trị tỉnh xem số thu của tỉnh ở trang Báo cáo.";
const runFilter = $("#form-loc-dot");
const rerunForm = $("#form-chay-lai");
const discFilter = $("#form-loc-cl");
const resolveForm = $("#form-xu-ly");
const refundFilter = $("#form-loc-ht");
const requestForm = $("#form-yeu-cau");
const approveForm = $("#form-duyet");
const rejectForm = $("#form-tu-choi");
const sendForm = $("#form-gui-lai");
let bankNames = {};
let runFilters = {};
let run = null; // the run shown
let discFilters = {};
let resolving = null; // the discrepancy being resolved
let refundFilters = { state: "REFUND_REQUESTED" };
let refund = null; // the refund shown

const bank = (code) => bankNames[code] ? `${bankNames[code]} (${code})` : code;
const counted = (obj) => Object.entries(obj || {}).filter(([, n]) => n).map(([k, n]) => `${label(RUN_ACTIONS, k)}: ${n}`)
  .join("; ");

// --- runs ----------------------------------------------------------------------------------------------------------

const runs = cursorPager($("#trang-dot"), "Phân trang lượt đối soát",
  (cursor) => api("GET", `/v1/reconciliation/runs${query({ ...runFilters, limit: 20, cursor })}`),
  ({ items }, page) => fill($("#ds-dot"), table({
    caption: `Lượt đối soát, trang ${page}`, empty: "Không có lượt đối soát nào phù hợp.",
    columns: ["Ngày quyết toán", "Ngân hàng", "Trạng thái", { label: "Số dòng", num: true },
      { label: "Tổng tiền tệp", num: true }, { label: "Cần xem xét", num: true }, "Khởi chạy", "Bắt đầu", "Thao tác"],
    rows: items.map((r) => [day(r.settlement_date), bank(r.bank_code),
      label(RUN_STATUS, r.status) + (r.superseded_by ? " (đã được thay thế)" : ""), r.line_count, money(r.total_vnd),
      r.anomalies, label(TRIGGERS, r.trigger.source), time(r.started_at),
      button("Xem", () => openRun(r.run_id), { attrs: { "aria-label": `Xem lượt ${r.bank_code} ngày ${day(r.settlement_date)}` } })]),
  })));

async function filterRuns(v) {
  clearErrors(runFilter);
  runFilters = unprefixed(v, "r_");
  try {
    await runs.first();
  } catch (problem) {
    if (problem.status === 403) return forbidden(problem);
    showProblem(runFilter, prefixed(problem, "r_"));
  }
}

async function rerun(v) {
  clearErrors(rerunForm);
  try {
    const made = await api("POST", "/v1/reconciliation/runs", { json: { bank_code: v.bank_code,
      settlement_date: v.settlement_date } });
    await openRun(made.run_id, `Đã chạy lại đối soát ${bank(made.bank_code)} ngày ${day(made.settlement_date)}: `
      + `${label(RUN_STATUS, made.status)}.`);
    runs.first().catch(() => {});
  } catch (problem) {
    showProblem(rerunForm, problem, { SETTLEMENT_FILE_NOT_FOUND: "settlement_date" });
  }
}

// --- one run and its discrepancies -----------------------------------------------------------------------------------

const discrepancies = cursorPager($("#trang-cl"), "Phân trang chênh lệch",
  (cursor) => api("GET", `/v1/reconciliation/runs/${seg(run.run_id)}${query({ ...discFilters, limit: 20, cursor })}`)
    .then((detail) => { run = detail; drawRun(); return detail.discrepancies; }),
  ({ items }, page) => fill($("#ds-cl"), table({
    caption: `Chênh lệch của lượt, trang ${page}`, empty: "Không có chênh lệch nào phù hợp.",
    columns: ["Khóa", "Loại", "Giao dịch", "Mã giao dịch ngân hàng", { label: "Số tiền ngân hàng", num: true },
      { label: "Số tiền trên Cổng", num: true }, "Trạng thái trên Cổng", "Lý do", "Đã thực hiện", "Xử lý", "Thao tác"],
    rows: items.map((d) => [d.key, label(CATEGORIES, d.category), d.payment_id, d.bank_txn_ref || "",
      money(d.bank_amount_vnd), money(d.portal_amount_vnd), d.portal_state || "Không rõ", d.reason,
      [label(RUN_ACTIONS, d.action || ""), d.action_detail ? ` (${d.action_detail})` : ""].join(""),
      d.status === "RESOLVED" && d.resolution
        ? `Đã xử lý bởi ${d.resolution.by} lúc ${time(d.resolution.at)}: ${d.resolution.note}`
        : label(DISCREPANCY_STATUS, d.status),
      h("div", { class: "actions" },
        d.status === "OPEN" ? button("Đánh dấu đã xử lý", () => askResolve(d),
          { attrs: { "aria-label": `Đánh dấu đã xử lý ${d.key}` } }) : null,
        d.refund_required && d.bank_txn_ref ? button("Yêu cầu hoàn tiền", () => prefillRefund(d),
          { attrs: { "aria-label": `Yêu cầu hoàn tiền ${d.key}` } }) : null)]),
  })));

function drawRun() {
  const r = run;
  fill($("#tieu-de-luot"), `Lượt đối soát ${bank(r.bank_code)} ngày ${day(r.settlement_date)}`);
  facts($("#thong-tin-luot"), [
    ["Mã lượt", r.run_id], ["Trạng thái", label(RUN_STATUS, r.status)],
    ["Lỗi của tệp", r.error ? `${r.error.message} (${r.error.code})` : ""],
    ["Tệp", r.file.key], ["Định dạng", r.format_name], ["Số dòng dữ liệu", String(r.line_count)],
    ["Tổng tiền tệp", vnd(r.total_vnd)], ["Dòng giao dịch thử nghiệm (loại ra)", String(r.excluded_test_lines)],
    ["Cần xem xét", String(r.anomalies)], ["Đã thực hiện", counted(r.actions)],
    ["Khởi chạy", `${label(TRIGGERS, r.trigger.source)} – ${r.trigger.by}`],
    ["Bắt đầu", time(r.started_at)], ["Kết thúc", time(r.finished_at)],
    ["Chạy lại của lượt", r.rerun_of], ["Thay thế lượt", r.supersedes], ["Được thay thế bởi lượt", r.superseded_by],
  ]);
  fill($("#theo-loai"), table({
    caption: "Kết quả theo loại", columns: ["Loại", { label: "Số dòng", num: true }, { label: "Số tiền", num: true }],
    rows: Object.keys(CATEGORIES).filter((c) => c in (r.counts || {}))
      .map((c) => [label(CATEGORIES, c), r.counts[c], money(r.totals_vnd?.[c] ?? 0)]),
    empty: "Tệp không được phân loại.",
  }));
}

async function openRun(runId, message = "") {
  run = { run_id: runId };
  discFilters = {};
  discFilter.reset();
  resolveForm.hidden = true;
  try {
    await discrepancies.first();
  } catch (problem) {
    return refusal($("#tu-choi"), problem);
  }
  $("#luot").hidden = false;
  $("#kq-luot").hidden = true;
  if (message) say($("#kq-luot"), message);
  focusOn($("#tieu-de-luot"));
}

async function filterDiscrepancies(v) {
  clearErrors(discFilter);
  discFilters = v;
  try {
    await discrepancies.first();
  } catch (problem) {
    showProblem(discFilter, problem);
  }
}

function askResolve(d) {
  resolving = d;
  fill($("#tieu-de-xu-ly"), `Đánh dấu đã xử lý: ${d.key} (${label(CATEGORIES, d.category)}, ${d.payment_id})`);
  clearErrors(resolveForm);
  resolveForm.reset();
  resolveForm.hidden = false;
  focusOn($("#tieu-de-xu-ly"));
}

async function resolve(v) {
  clearErrors(resolveForm);
  try {
    const done = await api("POST", `/v1/reconciliation/runs/${seg(run.run_id)}/discrepancies/${seg(resolving.key)}/resolve`,
      { json: { note: v.note } });
    resolveForm.hidden = true;
    await discrepancies.reload();
    say($("#kq-luot"), `Đã đánh dấu ${done.key} là đã xử lý.`);
    focusOn($("#kq-luot"));
  } catch (problem) {
    showProblem(resolveForm, problem);
  }
}

// --- refunds -------------------------------------------------------------------------------------------------------

const refunds = cursorPager($("#trang-ht"), "Phân trang yêu cầu hoàn tiền",
  (cursor) => api("GET", `/v1/operator/refunds${query({ ...refundFilters, limit: 20, cursor })}`),
  ({ items }, page) => fill($("#ds-ht"), table({
    caption: `Hoàn tiền: ${label(REFUND_STATES, refundFilters.state)}, trang ${page}`,
    empty: "Không có yêu cầu hoàn tiền nào phù hợp.",
    columns: ["Mã hoàn tiền", "Giao dịch", "Ngân hàng", { label: "Số tiền", num: true }, "Trạng thái",
      "Người yêu cầu", "Thời gian yêu cầu", "Thao tác"],
    rows: items.map((r) => [r.refund_id, r.payment_id, bank(r.bank_code), vnd(r.amount_vnd), label(REFUND_STATES, r.state),
      r.requested_by, time(r.requested_at),
      button("Xem", () => openRefund(r), { attrs: { "aria-label": `Xem hoàn tiền ${r.refund_id}` } })]),
  })));

async function filterRefunds(v) {
  clearErrors(refundFilter);
  refundFilters = unprefixed(v, "f_");
  try {
    await refunds.first();
  } catch (problem) {
    showProblem(refundFilter, prefixed(problem, "f_"));
  }
}

function prefillRefund(d) {
  $("#payment_id").value = d.payment_id;
  $("#bank_txn_ref").value = d.bank_txn_ref;
  $("#amount_vnd").value = String(d.bank_amount_vnd ?? "");
  $("#yeu-cau-ht").open = true;
  $("#reason").focus();
}

function amount(raw) {
  const digits = String(raw || "").replace(/[.\s]/g, "").replace(/đ$/, "");
  return /^\d{1,15}$/.test(digits) ? Number(digits) : raw;
}

async function requestRefund(v) {
  clearErrors(requestForm);
  try {
    const made = await api("POST", "/v1/operator/refunds", { json: { payment_id: v.payment_id,
      bank_txn_ref: v.bank_txn_ref, amount_vnd: amount(v.amount_vnd), reason: v.reason } });
    requestForm.reset();
    $("#yeu-cau-ht").open = false;
    await openRefund(made, `Đã gửi yêu cầu hoàn tiền ${made.refund_id}. Cần một quản trị viên khác phê duyệt.`);
    refunds.first().catch(() => {});
  } catch (problem) {
    if (problem.code === "REFUND_AMOUNT_EXCEEDS_TAKEN" && problem.extra?.refundable_vnd !== undefined) {
      problem.detail += ` Số tiền còn có thể hoàn: ${vnd(problem.extra.refundable_vnd)}.`;
    }
    showProblem(requestForm, problem, { REFUND_AMOUNT_EXCEEDS_TAKEN: "amount_vnd", PAYMENT_NOT_FOUND: "payment_id",
      REFUND_NOT_REQUIRED: "payment_id" });
  }
}

function drawRefund() {
  const r = refund;
  fill($("#tieu-de-mot-ht"), `Yêu cầu hoàn tiền ${r.refund_id}`);
  facts($("#thong-tin-ht"), [
    ["Trạng thái", label(REFUND_STATES, r.state) + (r.needs_review ? " – cần kiểm tra với ngân hàng" : "")],
    ["Giao dịch", r.payment_id], ["Ngân hàng", bank(r.bank_code)], ["Mã giao dịch ngân hàng", r.bank_txn_ref],
    ["Số tiền hoàn", `${vnd(r.amount_vnd)}${r.full ? " (toàn bộ giao dịch)" : " (một phần)"}`],
    ["Lý do", r.reason], ["Đơn vị thu", r.collecting_unit], ["Ngày tạo giao dịch", time(r.payment_created_at)],
    ["Người yêu cầu", `${r.requested_by}, ${time(r.requested_at)}`],
    ["Người phê duyệt hoặc từ chối", r.decided_by ? `${r.decided_by}, ${time(r.decided_at)}` : ""],
    ["Số lần gửi ngân hàng", String(r.attempts)], ["Kết quả gần nhất", r.last_result],
    ["Mã hoàn tiền của ngân hàng", r.bank_refund_ref], ["Hoàn tiền lúc", time(r.refunded_at)],
  ]);
  fill($("#nhat-ky-ht"), table({
    caption: `Nhật ký của ${r.refund_id}`, empty: "Chưa có bước nào.",
    columns: ["Thời gian", "Bước", "Người thực hiện", "Ghi chú"],
    rows: r.audit.map((e) => [time(e.at), label(REFUND_ACTIONS, e.action), e.by === "bank" ? "Ngân hàng" : e.by,
      e.note || ""]),
  }));
  approveForm.hidden = rejectForm.hidden = r.state !== "REFUND_REQUESTED";
  sendForm.hidden = r.state !== "REFUND_APPROVED" || r.needs_review;
  for (const f of [approveForm, rejectForm, sendForm]) clearErrors(f);
}

async function openRefund(r, message = "") {
  try {
    refund = await api("GET", `/v1/operator/refunds/${seg(r.refund_id)}`);
  } catch (problem) {
    return refusal($("#tu-choi"), problem);
  }
  drawRefund();
  approveForm.reset();
  rejectForm.reset();
  $("#mot-ht").hidden = false;
  $("#kq-ht").hidden = true;
  if (message) say($("#kq-ht"), message);
  focusOn($("#tieu-de-mot-ht"));
}

async function decide(form, path, json, message, prefix) {
  clearErrors(form);
  try {
    refund = await api("POST", `/v1/operator/refunds/${seg(refund.refund_id)}/${path}`, json ? { json } : {});
    drawRefund();
    say($("#kq-ht"), message(refund), refund.state === "REFUND_FAILED" ? "bad" : "ok");
    focusOn($("#kq-ht"));
    refunds.reload().catch(() => {});
  } catch (problem) {
    showProblem(form, prefix ? prefixed(problem, prefix) : problem);
  }
}

const after = (r) => `Trạng thái mới: ${label(REFUND_STATES, r.state)}.`;

function forbidden(problem) {
  refusal($("#tu-choi"), problem, OPERATOR_ONLY);
  for (const id of ["#doi-soat", "#luot", "#hoan-tien", "#mot-ht"]) $(id).hidden = true;
}

async function start() {
  options($("#category"), Object.entries(CATEGORIES).filter(([c]) => c !== "MATCHED"));
  onSubmit(runFilter, "Đang lọc…", filterRuns);
  onSubmit(rerunForm, "Đang chạy lại…", rerun);
  onSubmit(discFilter, "Đang lọc…", filterDiscrepancies);
  onSubmit(resolveForm, "Đang lưu…", resolve);
  $("#huy-xu-ly").addEventListener("click", () => { resolveForm.hidden = true; });
  onSubmit(refundFilter, "Đang lọc…", filterRefunds);
  onSubmit(requestForm, "Đang gửi…", requestRefund);
  onSubmit(approveForm, "Đang phê duyệt…", (v) => decide(approveForm, "approve",
    v.approve_note ? { note: v.approve_note } : {}, after, "approve_"));
  onSubmit(rejectForm, "Đang từ chối…", (v) => decide(rejectForm, "reject", { note: v.reject_note }, after, "reject_"));
  onSubmit(sendForm, "Đang gửi…", () => decide(sendForm, "send", null, after));
  try {
    const list = await banks();
    bankNames = Object.fromEntries(list.map((b) => [b.code, b.short_name]));
    for (const select of document.querySelectorAll("select[data-banks]")) {
      options(select, list.map((b) => [b.code, `${b.short_name} (${b.code})`]), select.id !== "bank_code");
    }
  } catch {
    // names stay codes
  }
  try {
    await runs.first();
  } catch (problem) {
    forbidden(problem);
    return ready();
  }
  refunds.first().catch((problem) => refusal($("#tu-choi"), problem));
  ready(...[runFilter, rerunForm, refundFilter, requestForm].map((f) => f.querySelector("[type=submit]")));
}

if (requireSession("staff")) start();
