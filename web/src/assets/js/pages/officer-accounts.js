// The citizen accounts the officer's one-stop units created (POST /v1/officers/citizen-accounts/query, newest first,
// at most 500 per search): filters as the seed's search box (name, phone, ID number, creating officer, unit, dates),
// the table with paging in the page (the API answers the whole list at once and says when it stopped at 500).
import { $, fill, focusOn, h, ready } from "../lib/dom.js";
import { date, dateTime } from "../lib/format.js";
import { clearErrors, fieldError, onSubmit, values } from "../lib/forms.js";
import { ACCOUNT_STATUS, isoFromVn, localPhone, myUnits, showPlaced, showRefusal, unitOptions } from "../lib/officer.js";
import { authed, requireSession, session } from "../lib/session.js";

const PAGE_SIZE = 20;
let rows = [];
let page = 0;
let units = [];

function unitLabel(code) {
  const unit = units.find((u) => u.code === code);
  return unit ? unit.name : code;
}

function table(items, offset) {
  const me = (session("staff")?.username || "").toLowerCase();
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Danh sách tài khoản đã tạo" },
    h("table", { class: "data accounts" },
      h("caption", {}, `Tài khoản công dân (${offset + 1}–${offset + items.length} trên ${rows.length})`),
      h("thead", {}, h("tr", {}, ["STT", "Tên công dân", "Ngày sinh", "CMND/CCCD", "Số điện thoại", "Cán bộ tạo",
        "Đơn vị", "Thời gian tạo", "Trạng thái"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, items.map((a, i) => h("tr", {},
        h("td", { class: "num" }, offset + i + 1),
        h("th", { scope: "row" }, a.full_name),
        h("td", {}, date(a.date_of_birth)),
        h("td", {}, a.id_number_masked),
        h("td", {}, localPhone(a.phone)),
        h("td", {}, a.created_by, a.created_by === me ? " (bạn)" : ""),
        h("td", {}, unitLabel(a.unit_code)),
        h("td", {}, dateTime(a.created_at)),
        h("td", {}, ACCOUNT_STATUS[a.status] || a.status,
          a.must_change_password ? h("span", { class: "muted block" }, "Chưa đổi mật khẩu lần đầu") : null))))));
}

function show(focus) {
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  page = Math.min(page, pages - 1);
  const offset = page * PAGE_SIZE;
  fill($("#bang"), rows.length ? table(rows.slice(offset, offset + PAGE_SIZE), offset)
    : h("p", { class: "alert" }, "Không tìm thấy tài khoản thỏa mãn các tiêu chí trên."));
  $("#phan-trang").hidden = pages <= 1;
  $("#trang-so").textContent = `Trang ${page + 1}/${pages}`;
  $("#trang-truoc").disabled = page === 0;
  $("#trang-sau").disabled = page >= pages - 1;
  if (focus) focusOn($("#tieu-de-ket-qua"));
}

async function query(form, fields, focus = true) {
  clearErrors(form);
  const body = {};
  for (const [k, v] of Object.entries(fields)) if (v) body[k] = k === "id_number" ? v.replace(/\s+/g, "") : v;
  for (const k of ["created_from", "created_to"]) {
    if (!body[k]) continue;
    body[k] = isoFromVn(body[k]);
    if (!body[k]) return void fieldError(form, k, "Ngày phải viết dạng ngày/tháng/năm, ví dụ 20/05/2026.").focus();
  }
  try {
    const answer = await authed("staff", "POST", "/v1/officers/citizen-accounts/query", { json: body });
    rows = answer.items;
    page = 0;
    $("#so-ket-qua").textContent = `Tìm thấy ${rows.length} kết quả.`
      + (answer.truncated ? " Chỉ hiển thị 500 tài khoản mới nhất; vui lòng thu hẹp điều kiện tìm kiếm." : "");
    show(focus);
  } catch (problem) {
    showPlaced(form, problem);
  }
}

async function start() {
  const form = $("#bo-loc");
  try {
    units = await myUnits();
  } catch (problem) {
    if (problem.status !== 401) showRefusal($("#tu-choi"), problem);
    ready();
    return;
  }
  unitOptions($("#unit_code"), units, "Tất cả đơn vị của tôi");
  $("#danh-sach").hidden = false;
  onSubmit(form, "Đang tìm…", (fields) => query(form, fields));
  $("#cua-toi").addEventListener("click", () => {
    form.reset();
    $("#created_by").value = (session("staff")?.username || "").toLowerCase();
    form.requestSubmit();
  });
  form.addEventListener("reset", () => setTimeout(() => clearErrors(form)));
  $("#trang-truoc").addEventListener("click", () => { page -= 1; show(true); });
  $("#trang-sau").addEventListener("click", () => { page += 1; show(true); });
  ready(form.querySelector("[type=submit]"));
  await query(form, values(form), false);
}

if (requireSession("staff")) start();
