// The operator / administrator console (units and users, reconciliation and refunds, reports):
// staff API calls, data tables, cursor paging, refusals explained, and the Vietnamese labels of the API's codes.
// Every right is the API's to decide: a refusal (403) is shown as the API's Vietnamese detail with what it means,
// never as a broken page.
import { $, $$, fill, focusOn, h } from "./dom.js";
import { ApiProblem } from "./api.js";
import { date, dateTime, vnd } from "./format.js";
import { authed } from "./session.js";

/** A staff API call (Bearer token of the tab's staff session). */
export const api = (method, path, opts) => authed("staff", method, path, opts);

/** "?a=1&b=x" from the non-empty values (path segments and query values are encoded). */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export const seg = (value) => encodeURIComponent(value);

/** Today in Vietnam as YYYY-MM-DD, and `days` before or after it. */
export function vnDay(days = 0) {
  const t = new Date(Date.now() + 7 * 3600 * 1000 + days * 86400 * 1000);
  return t.toISOString().slice(0, 10);
}

/**
 * A data table in a scrolling region: columns [{label, num}] (or strings), rows of cells (text or nodes).
 * `empty`: the sentence shown instead of an empty table.
 */
export function table({ caption, columns, rows, empty = "Không có dữ liệu.", foot = null, id = null }) {
  if (!rows.length) return h("p", { class: "muted console-empty" }, empty);
  const cols = columns.map((c) => (typeof c === "string" ? { label: c } : c));
  const cell = (value, i, tag = "td") => h(tag, { class: cols[i]?.num ? "num" : null, scope: tag === "th" ? "row" : null },
    value ?? "");
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption, id },
    h("table", { class: "data" }, h("caption", {}, caption),
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, row.map((v, i) => cell(v, i, i === 0 ? "th" : "td"))))),
      foot ? h("tfoot", {}, h("tr", {}, foot.map((v, i) => cell(v, i, i === 0 ? "th" : "td")))) : null));
}

/**
 * Cursor paging over an API list: `load(cursor)` returns {items, next_cursor}; `show(answer, pageNo)` draws it.
 * Renders "Trang trước / Trang n / Trang sau" into `pagerEl` (a .pager). Returns {reload(), first()}.
 */
export function cursorPager(pagerEl, label, load, show) {
  let cursors = [null];
  let next = null;
  async function go() {
    const answer = await load(cursors[cursors.length - 1]);
    next = answer.next_cursor || null;
    show(answer, cursors.length);
    draw();
    return answer;
  }
  function draw() {
    const prev = h("button", { class: "btn btn--secondary", type: "button", disabled: cursors.length < 2 },
      "Trang trước");
    const nextBtn = h("button", { class: "btn btn--secondary", type: "button", disabled: !next }, "Trang sau");
    prev.addEventListener("click", () => { cursors.pop(); go().catch(() => {}); });
    nextBtn.addEventListener("click", () => { cursors.push(next); go().catch(() => {}); });
    pagerEl.setAttribute("aria-label", label);
    fill(pagerEl, prev, h("span", { "aria-live": "polite" }, `Trang ${cursors.length}`), nextBtn);
    pagerEl.hidden = cursors.length < 2 && !next;
  }
  return {
    first() { cursors = [null]; return go(); },
    reload: go,
  };
}

/** Client-side paging of a list the API answers whole (user search: at most 200). */
export function listPager(pagerEl, label, size, show) {
  let items = [];
  let page = 1;
  function draw() {
    const pages = Math.max(1, Math.ceil(items.length / size));
    page = Math.min(page, pages);
    show(items.slice((page - 1) * size, page * size), page, pages);
    const prev = h("button", { class: "btn btn--secondary", type: "button", disabled: page < 2 }, "Trang trước");
    const nextBtn = h("button", { class: "btn btn--secondary", type: "button", disabled: page >= pages },
      "Trang sau");
    prev.addEventListener("click", () => { page -= 1; draw(); });
    nextBtn.addEventListener("click", () => { page += 1; draw(); });
    pagerEl.setAttribute("aria-label", label);
    fill(pagerEl, prev, h("span", { "aria-live": "polite" }, `Trang ${page}/${pages}`), nextBtn);
    pagerEl.hidden = pages < 2;
  }
  return { set(list) { items = list; page = 1; draw(); }, redraw: draw };
}

const ROLE_TEXT = "Chức năng này chỉ dành cho vai trò được API cho phép. Nếu cần dùng, vui lòng liên hệ quản trị hệ thống.";

/** The problem with its field errors renamed `<prefix><field>` (a form whose controls are prefixed because another
 * form of the page has a field of the same API name: slot ids stay unique). */
export function prefixed(problem, prefix) {
  if (!(problem instanceof ApiProblem)) return problem;
  const copy = new ApiProblem({ status: problem.status, code: problem.code, title: problem.title,
    detail: problem.detail, errors: (problem.errors || []).map((e) => ({ ...e, field: prefix + e.field })) });
  copy.extra = problem.extra;
  return copy;
}

/** The form's values without the prefix of its control names ({q_name: "x"} -> {name: "x"}), empty ones left out. */
export function unprefixed(vals, prefix) {
  const out = {};
  for (const [k, v] of Object.entries(vals)) if (v !== "") out[k.startsWith(prefix) ? k.slice(prefix.length) : k] = v;
  return out;
}

/** Show an API problem that stops a whole section (a 403 above all) in `el` (an .alert region), focused. */
export function refusal(el, problem, what = "") {
  const forbidden = problem.status === 403;
  fill(el, h("p", {}, h("strong", {}, forbidden ? "Không có quyền truy cập. " : "Không tải được dữ liệu. "),
    problem.detail), forbidden ? h("p", {}, what || ROLE_TEXT) : null,
  problem.code ? h("p", { class: "muted" }, `Mã lỗi: ${problem.code}`) : null);
  el.hidden = false;
  focusOn(el);
}

/** A polite status line (what an action did), with a tone (ok, bad, wait) shown by an icon as well as colour. */
export function say(el, text, tone = "ok") {
  const icon = { ok: "✓", bad: "✕", wait: "…" }[tone] || "";
  el.dataset.tone = tone;
  fill(el, h("span", { class: "status__icon", "aria-hidden": "true" }, icon), " ", text);
  el.hidden = false;
}

/** A button that runs `work` once at a time (disabled while it runs). */
export function button(label, work, { secondary = true, busy = "Đang xử lý…", attrs = {} } = {}) {
  const b = h("button", { class: secondary ? "btn btn--secondary" : "btn", type: "button", ...attrs }, label);
  b.addEventListener("click", async () => {
    if (b.disabled) return;
    b.disabled = true;
    b.textContent = busy;
    try {
      await work(b);
    } finally {
      if (b.isConnected) {
        b.disabled = false;
        b.textContent = label;
      }
    }
  });
  return b;
}

/** Fill a <select> with [value, text] options (keeping the first "all" option when `keepFirst`). */
export function options(select, pairs, keepFirst = true) {
  const first = keepFirst ? select.querySelector("option") : null;
  fill(select, first, pairs.map(([v, t]) => h("option", { value: v }, t)));
}

export const money = (n) => (n === null || n === undefined ? "" : vnd(n));
export const day = (d) => date(d);
export const time = (t) => dateTime(t);
export const show = (el, on = true) => { el.hidden = !on; return el; };
export { $, $$, fill, focusOn, h };

// --- labels of the API's codes (Vietnamese, with the code itself kept for the record) ------------------------------

export const USER_STATUS = { active: "Đang hoạt động", locked: "Đã khóa", deleted: "Đã xóa" };
export const ROLES = { officer: "Cán bộ một cửa", province_admin: "Quản trị tỉnh", operator: "Quản trị hệ thống" };
export const RIGHTS = { create_citizen_accounts: "Quyền tạo tài khoản công dân" };
export const ISSUERS = { portal: "Cổng Dịch vụ công", vnpost: "Bưu điện Việt Nam" };
export const AUDIT_ACTIONS = {
  REGISTER_USER: "Tạo người dùng", ASSIGN_UNIT: "Gán đơn vị", REMOVE_UNIT: "Gỡ đơn vị",
  GRANT_RIGHT: "Cấp quyền", REVOKE_RIGHT: "Thu hồi quyền", LOCK_USER: "Khóa tài khoản",
  UNLOCK_USER: "Mở khóa tài khoản", DELETE_USER: "Xóa người dùng",
};
export const RUN_STATUS = { RUNNING: "Đang chạy", COMPLETED: "Hoàn thành", REFUSED: "Từ chối tệp", FAILED: "Lỗi" };
export const CATEGORIES = {
  MATCHED: "Khớp", MISSING_AT_PORTAL: "Ngân hàng có, Cổng chưa ghi nhận", MISSING_AT_BANK: "Cổng có, ngân hàng không có",
  AMOUNT_MISMATCH: "Lệch số tiền", DUPLICATE_AT_BANK: "Ngân hàng thu trùng", STATUS_MISMATCH: "Lệch trạng thái",
  PENDING_NEXT_DAY: "Chờ tệp ngày sau",
};
export const DISCREPANCY_STATUS = { OPEN: "Chưa xử lý", RESOLVED: "Đã xử lý" };
export const RUN_ACTIONS = {
  APPLIED: "Đã ghi nhận thanh toán, cấp biên lai", ALREADY_APPLIED: "Đã ghi nhận trước đó",
  REFUND_REQUIRED: "Cần hoàn tiền", REFUSED: "Không ghi nhận được",
};
export const TRIGGERS = { s3_event: "Tệp được gửi đến", operator: "Quản trị chạy lại", cli: "Dòng lệnh",
  schedule: "Lịch kiểm tra 10:00" };
export const REFUND_STATES = {
  REFUND_REQUESTED: "Chờ phê duyệt", REFUND_APPROVED: "Đã phê duyệt, chờ ngân hàng", REFUNDED: "Đã hoàn tiền",
  REFUND_FAILED: "Hoàn tiền không thành công", REFUND_REJECTED: "Đã từ chối",
};
export const REFUND_ACTIONS = {
  REFUND_REQUESTED: "Yêu cầu hoàn tiền", REFUND_APPROVED: "Phê duyệt", REFUND_REJECTED: "Từ chối",
  SENT_TO_BANK: "Gửi ngân hàng", BANK_NO_ANSWER: "Ngân hàng không trả lời", NEEDS_REVIEW: "Cần kiểm tra với ngân hàng",
  REFUNDED: "Ngân hàng đã hoàn tiền", REFUND_FAILED: "Ngân hàng từ chối hoàn tiền",
};
export const REPORT_STATES = { OPEN: "Chờ gửi", FAILING: "Đang gửi lại", ACKED: "Cơ quan thuế đã nhận",
  REFUSED: "Cơ quan thuế từ chối", DEAD: "Không gửi được" };

/** "Nhãn (CODE)" for a code with a label, the code alone otherwise. */
export const label = (labels, code) => (code in labels ? labels[code] : code ?? "");
