// Units, staff users, their units and the right "create citizen accounts", lock/unlock, delete and the audit trail
// (GET/POST /v1/admin/units, POST /v1/admin/users/search, POST /v1/admin/users, .../units, .../rights, .../status,
// DELETE .../{user_id}, GET .../audit). Operators administer every unit, a province administrator the units of their
// province: the API scopes every list and refuses the rest; the page shows its refusals as they come.
import {
  $, api, AUDIT_ACTIONS, button, fill, focusOn, h, ISSUERS, label, listPager, options, prefixed, refusal,
  RIGHTS, ROLES, say, seg, table, time, unprefixed, USER_STATUS,
} from "../lib/console.js";
import { facts, ready } from "../lib/dom.js";
import { clearErrors, onSubmit, showProblem } from "../lib/forms.js";
import { requireSession } from "../lib/session.js";

const RIGHT = "create_citizen_accounts";
const unitForm = $("#form-don-vi");
const searchForm = $("#form-tim");
const createForm = $("#form-tao");
const assignForm = $("#form-gan");
const detail = $("#chi-tiet");
let units = [];
let current = null; // the UserView shown in the detail
let lastSearch = {};

const unitName = (code) => units.find((u) => u.code === code)?.name;
const unitText = (code) => (unitName(code) ? `${code} – ${unitName(code)}` : code);

// --- units ---------------------------------------------------------------------------------------------------------

async function loadUnits() {
  try {
    units = (await api("GET", "/v1/admin/units")).items;
  } catch (problem) {
    refusal($("#tu-choi"), problem, "Trang này dành cho quản trị tỉnh và quản trị hệ thống.");
    for (const s of [$("#don-vi"), $("#nguoi-dung")]) s.hidden = true;
    return false;
  }
  fill($("#ds-don-vi"), table({
    caption: `Đơn vị (${units.length})`, empty: "Chưa có đơn vị nào trong phạm vi quản trị của bạn.",
    columns: ["Mã định danh", "Tên đơn vị", "Đơn vị một cửa", "Ngày tạo"],
    rows: units.map((u) => [u.code, u.name, u.one_stop ? "Có" : "Không", time(u.created_at)]),
  }));
  const pairs = units.map((u) => [u.code, `${u.code} – ${u.name}`]);
  options($("#q_unit_code"), pairs);
  options($("#unit_code"), pairs, false);
  return true;
}

async function createUnit(v) {
  clearErrors(unitForm);
  try {
    const unit = await api("POST", "/v1/admin/units", { json: { code: v.code, name: v.name } });
    unitForm.reset();
    await loadUnits();
    say($("#kq-don-vi"), `Đã thêm đơn vị ${unit.code} – ${unit.name}.`);
  } catch (problem) {
    showProblem(unitForm, problem, { UNIT_EXISTS: "code", UNIT_OUT_OF_SCOPE: "code" });
  }
}

// --- search --------------------------------------------------------------------------------------------------------

const results = listPager($("#trang-tim"), "Phân trang kết quả tìm người dùng", 20, (items, page, pages) => {
  fill($("#ket-qua-tim"), table({
    caption: `Người dùng tìm thấy${pages > 1 ? `, trang ${page}/${pages}` : ""}`,
    empty: "Không tìm thấy người dùng nào phù hợp.",
    columns: ["Tên đăng nhập", "Họ và tên", "Điện thoại", "Đơn vị", "Quyền", "Trạng thái", "Thao tác"],
    rows: items.map((u) => [u.user_id, u.full_name, u.phone, u.units.join(", ") || "Chưa gán",
      u.rights.map((r) => label(RIGHTS, r)).join(", ") || "Không", label(USER_STATUS, u.status),
      button("Xem", () => open(u), { attrs: { "aria-label": `Xem người dùng ${u.user_id}` } })]),
  }), lastTruncated ? h("p", { class: "alert alert--warn" },
    "Có hơn 200 người dùng phù hợp; chỉ 200 người đầu tiên được hiển thị. Vui lòng thu hẹp điều kiện tìm.") : null);
});
let lastTruncated = false;

async function search(v) {
  clearErrors(searchForm);
  const body = unprefixed(v, "q_");
  if (body.unassigned) body.unassigned = true;
  lastSearch = body;
  try {
    const answer = await api("POST", "/v1/admin/users/search", { json: body });
    lastTruncated = answer.truncated;
    results.set(answer.items);
  } catch (problem) {
    showProblem(searchForm, prefixed(problem, "q_"));
  }
}

async function refreshSearch() {
  try {
    const answer = await api("POST", "/v1/admin/users/search", { json: lastSearch });
    lastTruncated = answer.truncated;
    results.set(answer.items);
  } catch {
    // the list stays as it was; the detail shows the change
  }
}

// --- create a staff user -------------------------------------------------------------------------------------------

async function createUser(v) {
  clearErrors(createForm);
  const body = { user_id: v.user_id, full_name: v.full_name, phone: v.phone, id_number: v.id_number,
    issuer: v.issuer };
  if (v.tax_code) body.tax_code = v.tax_code;
  try {
    const user = await api("POST", "/v1/admin/users", { json: body });
    createForm.reset();
    $("#them-nguoi-dung").open = false;
    await open(user, `Đã tạo người dùng ${user.user_id}. Mật khẩu tạm thời đã được gửi bằng SMS.`);
  } catch (problem) {
    showProblem(createForm, problem, { USER_EXISTS: "user_id" });
  }
}

// --- one user ------------------------------------------------------------------------------------------------------

async function open(user, message = "") {
  current = user;
  draw();
  detail.hidden = false;
  clearErrors(detail);
  $("#kq-thao-tac").hidden = true;
  if (message) say($("#kq-thao-tac"), message);
  focusOn($("#tieu-de-chi-tiet"));
  await loadAudit();
}

function draw() {
  const u = current;
  fill($("#tieu-de-chi-tiet"), `Người dùng ${u.user_id}`);
  facts($("#thong-tin"), [
    ["Tên đăng nhập", u.user_id], ["Họ và tên", u.full_name], ["Số điện thoại", u.phone],
    ["Số định danh", u.id_number_masked], ["Mã số thuế", u.tax_code], ["Nơi cấp tài khoản", label(ISSUERS, u.issuer)],
    ["Trạng thái", label(USER_STATUS, u.status)], ["Vai trò", u.roles.map((r) => label(ROLES, r)).join(", ") || "Chưa có"],
    ["Quyền", u.rights.map((r) => label(RIGHTS, r)).join(", ") || "Không"],
    ["Tỉnh quản trị", u.province_agency], ["Ngày tạo", time(u.created_at)],
  ]);
  const deleted = u.status === "deleted";
  fill($("#don-vi-gan"), u.units.length ? h("ul", { class: "console-list" }, u.units.map((code) => h("li", {},
    h("span", {}, unitText(code)), deleted ? null : button("Gỡ đơn vị", () => act("DELETE",
      `/units/${seg(code)}`, null, `Đã gỡ đơn vị ${code}.`), { attrs: { "aria-label": `Gỡ đơn vị ${code}` } }))))
    : h("p", { class: "muted" }, "Chưa được gán đơn vị nào."));
  assignForm.hidden = deleted;
  const has = u.rights.includes(RIGHT);
  fill($("#thao-tac"), deleted ? h("p", { class: "muted" }, "Người dùng đã bị xóa; chỉ còn nhật ký.") : [
    has ? button("Thu hồi quyền tạo tài khoản công dân", () => act("DELETE", `/rights/${RIGHT}`, null,
      "Đã thu hồi quyền tạo tài khoản công dân."))
      : button("Cấp quyền tạo tài khoản công dân", () => act("PUT", `/rights/${RIGHT}`, null,
        "Đã cấp quyền tạo tài khoản công dân.")),
    u.status === "locked" ? button("Mở khóa tài khoản", () => act("PUT", "/status", { status: "active" },
      "Đã mở khóa tài khoản."))
      : button("Khóa tài khoản", () => act("PUT", "/status", { status: "locked" },
        "Đã khóa tài khoản: mọi phiên đăng nhập của người dùng bị từ chối ngay.")),
    button("Xóa người dùng", askDelete),
  ]);
  $("#xac-nhan-xoa").hidden = true;
}

async function act(method, tail, json, message, where = detail, codeFields = {}) {
  clearErrors(detail);
  clearErrors(assignForm);
  try {
    current = await api(method, `/v1/admin/users/${seg(current.user_id)}${tail}`, json ? { json } : {});
    draw();
    say($("#kq-thao-tac"), message);
    await loadAudit();
    refreshSearch();
    return true;
  } catch (problem) {
    showProblem(where, problem, codeFields);
    return false;
  }
}

function askDelete() {
  fill($("#cau-hoi-xoa"), `Xóa người dùng ${current.user_id} (${current.full_name})? Người dùng không đăng nhập được `
    + "nữa; hồ sơ và nhật ký vẫn được giữ. Không thể hoàn tác.");
  $("#xac-nhan-xoa").hidden = false;
  focusOn($("#xac-nhan-xoa"));
}

async function confirmDelete() {
  clearErrors(detail);
  const id = current.user_id;
  try {
    await api("DELETE", `/v1/admin/users/${seg(id)}`);
    current = { ...current, status: "deleted", rights: [] };
    draw();
    say($("#kq-thao-tac"), `Đã xóa người dùng ${id}.`);
    await loadAudit();
    refreshSearch();
  } catch (problem) {
    $("#xac-nhan-xoa").hidden = true;
    showProblem(detail, problem);
  }
}

function auditDetail(d) {
  return Object.entries(d || {}).filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && !v.length))
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : v}`)
    .join("; ");
}

async function loadAudit() {
  try {
    const { items } = await api("GET", `/v1/admin/users/${seg(current.user_id)}/audit`);
    fill($("#nhat-ky"), table({
      caption: `Nhật ký thay đổi của ${current.user_id}`, empty: "Chưa có thay đổi nào.",
      columns: ["Thời gian", "Người thực hiện", "Thao tác", "Chi tiết"],
      rows: items.map((e) => [time(e.at), e.actor, label(AUDIT_ACTIONS, e.action), auditDetail(e.detail)]),
    }));
  } catch (problem) {
    fill($("#nhat-ky"), h("p", { class: "alert alert--error" }, problem.detail));
  }
}

if (requireSession("staff")) {
  onSubmit(unitForm, "Đang thêm…", createUnit);
  onSubmit(searchForm, "Đang tìm…", search);
  onSubmit(createForm, "Đang tạo…", createUser);
  onSubmit(assignForm, "Đang gán…", (v) => act("POST", "/units", { unit_code: v.unit_code || "" },
    `Đã gán đơn vị ${v.unit_code}.`, assignForm, { UNIT_OUT_OF_SCOPE: "unit_code", UNIT_NOT_FOUND: "unit_code" }));
  $("#xoa-that").addEventListener("click", confirmDelete);
  $("#xoa-huy").addEventListener("click", () => { $("#xac-nhan-xoa").hidden = true; });
  if (await loadUnits()) {
    ready(...[unitForm, searchForm, createForm].map((f) => f.querySelector("[type=submit]")));
    searchForm.requestSubmit();
  } else {
    ready();
  }
}
