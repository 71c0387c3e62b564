// The citizen's transaction history (GET /v1/citizens/me/transactions, newest first, an opaque cursor per page):
// each payment's state in words (and an icon: never colour alone), amount, notice, bank, times, and a link to its
// receipt once paid (the receipt page reads it with this tab's citizen token: no access secret needed).
import { banks } from "../lib/banks.js";
import { $, fill, focusOn, h, ready } from "../lib/dom.js";
import { dateTime, vnd } from "../lib/format.js";
import { receiptUrl, STATE_TEXT } from "../lib/payments.js";
import { authed, requireSession } from "../lib/session.js";

const PAGE_SIZE = 10;
const ICON = { ok: "✓", bad: "✗", wait: "⏳" };
const KIND = { land: "Nghĩa vụ tài chính về đất đai", personal_tax: "Thuế thu nhập cá nhân",
  registration_fee: "Lệ phí trước bạ" };
const REFUND = { REFUND_REQUESTED: "đang chờ duyệt hoàn tiền", REFUND_APPROVED: "đã duyệt, đang hoàn tiền",
  REFUNDED: "đã hoàn tiền", REFUND_FAILED: "hoàn tiền chưa thành công", REFUND_REJECTED: "không hoàn tiền" };
const body = $("#giao-dich");
const before = $("#trang-truoc");
const after = $("#trang-sau");
const cursors = [null]; // the cursor of each page seen so far (the first page has none)
let index = 0;
let names = {};

function stateCell(t) {
  const text = STATE_TEXT[t.state] || { title: t.state, tone: "wait" };
  return h("td", {}, h("span", { class: "txn-state", "data-tone": text.tone },
    h("span", { "aria-hidden": "true" }, ICON[text.tone], " "), text.title),
  (t.refunds || []).map((r) => h("span", { class: "txn-refund" },
    `Hoàn ${vnd(r.amount_vnd)}: ${REFUND[r.state] || r.state}`)));
}

function row(t) {
  const what = [h("span", { class: "txn-kind" }, KIND[t.kind] || t.kind),
    t.dossier_code ? h("span", {}, `Hồ sơ ${t.dossier_code}`) : null, h("span", {}, `Thông báo ${t.notice_number}`)];
  const when = [h("span", {}, dateTime(t.created_at)),
    t.paid_at ? h("span", { class: "muted" }, `Thanh toán: ${dateTime(t.paid_at)}`) : null];
  const receipt = t.receipt_id
    ? h("a", { href: receiptUrl(t.receipt_id) }, "Xem biên lai",
      h("span", { class: "visually-hidden" }, ` của thông báo ${t.notice_number}`))
    : h("span", { class: "muted" }, "Chưa có");
  return h("tr", { "data-payment": t.payment_id }, h("td", {}, when), h("td", {}, what),
    h("td", { class: "num" }, vnd(t.amount_vnd)), h("td", {}, names[t.bank_code] || t.bank_code), stateCell(t),
    h("td", {}, receipt));
}

async function load(to, focus) {
  before.disabled = after.disabled = true;
  const cursor = cursors[to];
  const query = `?limit=${PAGE_SIZE}` + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : "");
  let page;
  try {
    page = await authed("citizen", "GET", `/v1/citizens/me/transactions${query}`);
  } catch (problem) {
    const box = $("#loi-tai");
    box.textContent = problem.detail;
    box.hidden = false;
    before.disabled = index === 0;
    after.disabled = cursors.length <= index + 1;
    return;
  }
  $("#loi-tai").hidden = true;
  index = to;
  if (page.next_cursor) cursors[to + 1] = page.next_cursor;
  else cursors.length = to + 1;
  fill(body, page.items.length ? page.items.map(row)
    : h("tr", {}, h("td", { colspan: 6 }, to === 0 ? "Bạn chưa có giao dịch nào." : "Không còn giao dịch nào.")));
  $("#trang-so").textContent = `(trang ${to + 1})`;
  before.disabled = to === 0;
  after.disabled = !page.next_cursor;
  if (focus) focusOn($(".table-wrap"));
}

async function start() {
  before.addEventListener("click", () => load(index - 1, true));
  after.addEventListener("click", () => load(index + 1, true));
  ready();
  try {
    names = Object.fromEntries((await banks()).map((b) => [b.code, b.short_name]));
  } catch {
    names = {}; // the codes are shown instead
  }
  await load(0, false);
}

if (requireSession("citizen")) start();
