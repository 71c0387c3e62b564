// The electronic receipt (biên lai điện tử) of a paid notice: every receipt field, the amount in words, the PDF
// download and printing. Read with the access secret this tab kept for the payment (never from the URL), or else
// as the signed-in citizen who paid (the API opens a receipt to its payment's owner: the history's links, a new tab).
import { call } from "../lib/api.js";
import { $, facts, fill, h, ready } from "../lib/dom.js";
import { dateTime, groupDigits, vnd } from "../lib/format.js";
import { LOOKUP_PAGE } from "../lib/payments.js";
import { authed, session, SIGN_IN_PAGE } from "../lib/session.js";
import * as store from "../lib/store.js";

const root = $("#bien-lai");
const RECEIPT_ID = /^RCP[A-Z][0-9]{2}[0-9A-HJKMNP-TV-Z]{26}$/;
const DELIVERY = {
  PENDING: "Đang gửi về phần mềm một cửa của địa phương",
  DELIVERED: "Đã gửi về phần mềm một cửa của địa phương",
  FAILING: "Đang gửi lại về phần mềm một cửa của địa phương",
  DEAD: "Chưa gửi được về địa phương; cán bộ phụ trách đã được thông báo",
};

function message(title, text, ...more) {
  fill(root, h("div", { class: "alert alert--error", role: "alert" }, h("p", {}, h("strong", {}, title)), h("p", {}, text)),
    h("p", { class: "actions" }, h("a", { class: "btn", href: LOOKUP_PAGE }, "Tra cứu hồ sơ"), ...more));
}

function itemsTable(receipt) {
  return h("table", { class: "items" },
    h("caption", {}, "Các khoản đã nộp"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "STT"), h("th", { scope: "col" }, "Nội dung khoản nộp"),
      h("th", { scope: "col", class: "num" }, "Số tiền (VNĐ)"))),
    h("tbody", {}, receipt.items.map((item, i) => h("tr", {}, h("td", {}, i + 1),
      h("td", {}, item.description, " ", h("span", { class: "muted" }, `(tiểu mục ${item.sub_item_code})`)),
      h("td", { class: "num" }, groupDigits(item.amount_vnd))))),
    h("tfoot", {}, h("tr", {}, h("th", { scope: "row", colspan: 2 }, "Tổng cộng"),
      h("td", { class: "num" }, groupDigits(receipt.amount_vnd)))));
}

/** GET through the tab's access secret for this payment, or as the signed-in citizen; null when it has neither. */
function reader(id) {
  const secret = store.accessHeaders(id);
  if (secret) {
    return (path, opts = {}) => call("GET", path, { ...opts, headers: { ...secret, ...(opts.headers || {}) } });
  }
  if (session("citizen")?.access_token) return (path, opts = {}) => authed("citizen", "GET", path, opts);
  return null;
}

function render(receipt, get) {
  const download = h("button", { class: "btn", type: "button", id: "tai-pdf" }, "Tải biên lai (PDF)");
  const print = h("button", { class: "btn btn--secondary", type: "button" }, "In biên lai");
  const note = h("p", { class: "muted", role: "status", id: "tai-pdf-trang-thai" });
  download.addEventListener("click", () => downloadPdf(receipt, get, download, note));
  print.addEventListener("click", () => window.print());
  fill(root, h("article", { class: "receipt", "aria-labelledby": "bl-tieu-de" },
    h("header", { class: "receipt__head" },
      h("p", { class: "receipt__unit" }, receipt.collecting_unit_name),
      h("h2", { id: "bl-tieu-de" }, "Biên lai thu tiền điện tử"),
      h("p", {}, `Mẫu số ${receipt.template_symbol} · Ký hiệu ${receipt.series} · Số ${receipt.receipt_number}`)),
    facts(h("dl", { class: "facts" }), [
      ["Mẫu số", receipt.template_symbol], ["Ký hiệu", receipt.series], ["Số biên lai", receipt.receipt_number],
      ["Đơn vị thu", `${receipt.collecting_unit_name} (mã ${receipt.collecting_unit_code})`],
      ["Người nộp", receipt.payer_name], ["Mã hồ sơ", receipt.dossier_code], ["Số thông báo thuế", receipt.notice_number],
      ["Ngân hàng", receipt.bank_name], ["Mã giao dịch ngân hàng", receipt.bank_txn_ref],
      ["Mã giao dịch trên Cổng", receipt.payment_id], ["Thời gian thanh toán", dateTime(receipt.paid_at)],
      ["Thời gian lập biên lai", dateTime(receipt.issued_at)],
      ["Gửi về địa phương", DELIVERY[receipt.delivery_state] || receipt.delivery_state]]),
    itemsTable(receipt),
    h("p", { class: "receipt__total" }, "Tổng số tiền: ", h("strong", {}, vnd(receipt.amount_vnd))),
    h("p", { class: "receipt__words" }, "Số tiền bằng chữ: ", h("strong", {}, receipt.amount_in_words))),
  h("div", { class: "actions no-print" }, download, print, h("a", { class: "btn btn--secondary", href: LOOKUP_PAGE },
    "Tra cứu hồ sơ khác")), note);
}

async function downloadPdf(receipt, get, button, note) {
  button.disabled = true;
  note.textContent = "Đang tải biên lai…";
  try {
    const blob = await get(`/v1/receipts/${encodeURIComponent(receipt.receipt_id)}/pdf`,
      { headers: { Accept: "application/pdf" }, as: "blob" });
    const url = URL.createObjectURL(blob);
    const link = h("a", { href: url, download: `bien-lai-${receipt.receipt_number}.pdf`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    note.textContent = "Đã tải biên lai (PDF).";
  } catch (problem) {
    note.textContent = problem.detail;
  } finally {
    button.disabled = false;
  }
}

async function start() {
  ready();
  const id = new URLSearchParams(location.search).get("ma") || "";
  if (!RECEIPT_ID.test(id)) {
    message("Đường dẫn biên lai không hợp lệ", "Vui lòng mở biên lai từ trang kết quả thanh toán.");
    return;
  }
  const get = reader(id);
  if (!get) {
    message("Không mở được biên lai trong trình duyệt này",
      "Mã truy cập biên lai chỉ được lưu trong thẻ trình duyệt đã thanh toán. Công dân có tài khoản có thể đăng nhập "
      + "để xem lại biên lai của giao dịch đã thực hiện khi đăng nhập.",
    h("a", { class: "btn btn--secondary",
      href: `${SIGN_IN_PAGE.citizen}?tiep=${encodeURIComponent(location.pathname + location.search)}` },
    "Đăng nhập tài khoản công dân"));
    return;
  }
  try {
    render(await get(`/v1/receipts/${encodeURIComponent(id)}`), get);
  } catch (problem) {
    message("Không tải được biên lai", problem.detail);
  }
}

start();
