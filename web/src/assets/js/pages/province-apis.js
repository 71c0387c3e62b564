// The province's API registry (GET/PUT .../apis, disable with confirmation), the API check "like Postman"
// (POST .../apis/{type}/check or POST /v1/api-checks for a new URL, prefilled with GET /v1/api-checks/samples) and
// the audit trail. Credentials are write-only: the page says "đã lưu", never shows them.
import { $, fill, focusOn, h, ready } from "../lib/dom.js";
import { clearErrors, fieldError, onSubmit, showProblem } from "../lib/forms.js";
import { dateTime } from "../lib/format.js";
import { API_TYPES, apiTypeLabel, chooseProvince, dataTable, enc, hideRefusal, showFieldProblem, showRefusal, staff }
  from "../lib/province.js";
import { requireSession } from "../lib/session.js";

const ACTIONS = {
  api_created: "Khai báo API", api_updated: "Sửa cấu hình API", api_disabled: "Tắt API", api_check: "Kiểm tra API",
  api_check_refused: "Kiểm tra API bị từ chối", redrive: "Gửi lại biên lai không gửi được",
  contacts_created: "Đăng ký nhận cảnh báo", contacts_updated: "Sửa danh sách nhận cảnh báo",
  contacts_removed: "Xóa danh sách nhận cảnh báo",
};

const state = { province: null, apis: [], audit: [], samples: {}, editing: null, disabling: null };

const chooser = $("#chon-tinh");
const refusal = $("#tu-choi");
const content = $("#bang-dieu-khien");
const apiForm = $("#form-api");
const checkForm = $("#form-kiem-tra");

function lastCheck(type) {
  const found = state.audit.find((r) => r.action === "api_check" && r.api_type === type);
  if (!found) return "Chưa kiểm tra";
  const outcome = found.status ? `HTTP ${found.status}` : `không có trả lời (${found.error || "lỗi"})`;
  return `${dateTime(found.at)} — ${outcome}${found.latency_ms != null ? `, ${found.latency_ms} ms` : ""}`;
}

function renderRegistry() {
  const rows = API_TYPES.map((t) => {
    const api = state.apis.find((a) => a.api_type === t.code);
    const name = [t.label, t.required ? h("span", { class: "muted" }, " (bắt buộc)") : null];
    if (!api) {
      return [name, "Chưa khai báo", "—", "—", "—", "—",
        h("button", { class: "btn btn--secondary", type: "button", dataset: { edit: t.code } }, "Khai báo")];
    }
    return [name,
      h("span", { class: "province-url" }, api.session_url),
      h("span", { class: "province-url" }, api.data_url),
      api.active ? "✓ Đang sử dụng" : "✗ Đã tắt",
      api.has_credentials ? "Đã lưu" : "Chưa có",
      lastCheck(t.code),
      h("div", { class: "province-row-actions" },
        h("button", { class: "btn btn--secondary", type: "button", dataset: { edit: t.code },
          "aria-label": `Sửa ${t.label}` }, "Sửa"),
        api.active ? h("button", { class: "btn btn--secondary", type: "button", dataset: { disable: t.code },
          "aria-label": `Tắt ${t.label}` }, "Tắt") : null)];
  });
  fill($("#danh-muc"), dataTable(`Các API của ${state.province.province_name}`,
    ["Loại API", "URL API lấy session", "URL API lấy dữ liệu", "Trạng thái", "Thông tin xác thực",
      "Lần kiểm tra gần nhất", "Thao tác"], rows, { id: "bang-api" }));
}

function details(r) {
  const out = [];
  if (r.api_type) out.push(apiTypeLabel(r.api_type));
  if (r.unit_code) out.push(`đơn vị ${r.unit_code}`);
  if (r.url) out.push(r.url);
  if (r.status) out.push(`HTTP ${r.status}`);
  if (r.error) out.push(`lỗi ${r.error}`);
  if (r.code) out.push(r.code);
  if (r.latency_ms != null) out.push(`${r.latency_ms} ms`);
  if (r.redriven != null) out.push(`${r.redriven} biên lai gửi lại`);
  if (r.changes && typeof r.changes === "object") {
    const changed = Object.keys(r.changes);
    if (changed.length) out.push(`thay đổi: ${changed.join(", ")}`);
  }
  return out.join("; ");
}

function renderAudit() {
  const box = $("#nhat-ky");
  if (!state.audit.length) {
    fill(box, h("p", {}, "Chưa có thay đổi hay lượt kiểm tra nào."));
    return;
  }
  fill(box, dataTable("Nhật ký, mới nhất trước", ["Thời gian", "Người thực hiện", "Hành động", "Chi tiết"],
    state.audit.map((r) => [dateTime(r.at), r.by, ACTIONS[r.action] || r.action, details(r)]), { id: "bang-nhat-ky" }));
}

async function loadAll() {
  const agency = state.province.agency_code;
  const [apis, audit] = await Promise.all([
    staff("GET", `/v1/provinces/${enc(agency)}/apis`),
    staff("GET", `/v1/provinces/${enc(agency)}/audit`)]);
  state.apis = apis.apis;
  state.audit = audit.records;
  renderRegistry();
  renderAudit();
}

async function loadSamples() {
  try {
    const answer = await staff("GET", `/v1/api-checks/samples?agency_code=${enc(state.province.agency_code)}`);
    state.samples = Object.fromEntries(answer.samples.map((s) => [s.api_type, s.body]));
  } catch {
    state.samples = {};
  }
  resetSample();
}

async function show(province) {
  state.province = province;
  closeEditor();
  $("#xac-nhan-tat").hidden = true;
  $("#ket-qua").hidden = true;
  try {
    await loadAll();
  } catch (problem) {
    showRefusal(refusal, problem, content);
    return;
  }
  hideRefusal(refusal, content);
  await loadSamples();
}

// -- create / edit --------------------------------------------------------------------------------------------

function closeEditor() {
  state.editing = null;
  $("#khai-bao").hidden = true;
}

function openEditor(type) {
  const api = state.apis.find((a) => a.api_type === type);
  const p = state.province;
  state.editing = type;
  clearErrors(apiForm);
  apiForm.reset();
  const select = $("#loai-api");
  select.value = type;
  select.disabled = Boolean(api);
  $("#tieu-de-khai-bao").textContent = api ? `Sửa ${apiTypeLabel(type)}` : `Khai báo ${apiTypeLabel(type)}`;
  const set = (id, v) => { apiForm.elements[id].value = v ?? ""; };
  set("province_code", api?.province_code || p.province_code);
  set("province_name", api?.province_name || p.province_name);
  set("unit_code", api?.unit_code || p.agency_code);
  set("session_url", api?.session_url);
  set("data_url", api?.data_url);
  set("connect_timeout_s", api?.connect_timeout_s ?? 3);
  set("read_timeout_s", api?.read_timeout_s ?? 10);
  apiForm.elements.active.checked = api ? api.active : true;
  $("#credentials-hint").textContent = api?.has_credentials
    ? "Đã lưu. Để trống để giữ thông tin đã lưu; bắt buộc nhập lại khi URL API lấy session chuyển sang máy chủ khác. "
      + "Thông tin này chỉ ghi, không bao giờ hiển thị lại."
    : "Bắt buộc khi khai báo lần đầu. Thông tin này chỉ ghi, không bao giờ hiển thị lại.";
  $("#khai-bao").hidden = false;
  focusOn($("#tieu-de-khai-bao"));
}

function apiBody(form) {
  const el = form.elements;
  const body = {
    province_code: el.province_code.value.trim(), province_name: el.province_name.value.trim(),
    unit_code: el.unit_code.value.trim(), session_url: el.session_url.value.trim(), data_url: el.data_url.value.trim(),
    connect_timeout_s: Number(el.connect_timeout_s.value), read_timeout_s: Number(el.read_timeout_s.value),
    active: el.active.checked,
  };
  const username = el["credentials.username"].value.trim();
  const password = el["credentials.password"].value;
  if (username || password) body.credentials = { username, password };
  return body;
}

onSubmit(apiForm, "Đang lưu…", async () => {
  const type = state.editing;
  try {
    await staff("PUT", `/v1/provinces/${enc(state.province.agency_code)}/apis/${enc(type)}`, { json: apiBody(apiForm) });
  } catch (problem) {
    showFieldProblem(apiForm, problem);
    return;
  }
  closeEditor();
  await loadAll();
  $("#danh-muc-thong-bao").textContent = `Đã lưu cấu hình ${apiTypeLabel(type)}.`;
  focusOn($("#tieu-de-danh-muc"));
});

$("#huy-khai-bao").addEventListener("click", () => {
  closeEditor();
  focusOn($("#tieu-de-danh-muc"));
});

// -- disable, with confirmation ---------------------------------------------------------------------------------

$("#danh-muc").addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.dataset.edit) openEditor(button.dataset.edit);
  if (button.dataset.disable) {
    state.disabling = button.dataset.disable;
    $("#xac-nhan-tat-cau-hoi").textContent = `Tắt ${apiTypeLabel(state.disabling)} của ${state.province.province_name}?`;
    $("#xac-nhan-tat").hidden = false;
    focusOn($("#xac-nhan-tat"));
  }
});

$("#tat-huy").addEventListener("click", () => {
  $("#xac-nhan-tat").hidden = true;
  state.disabling = null;
  focusOn($("#tieu-de-danh-muc"));
});

$("#tat-dong-y").addEventListener("click", async (event) => {
  const type = state.disabling;
  if (!type) return;
  event.target.disabled = true;
  const note = $("#danh-muc-thong-bao");
  try {
    await staff("POST", `/v1/provinces/${enc(state.province.agency_code)}/apis/${enc(type)}/disable`);
    await loadAll();
    note.textContent = `Đã tắt ${apiTypeLabel(type)}.`;
  } catch (problem) {
    note.textContent = problem.detail;
  } finally {
    event.target.disabled = false;
    $("#xac-nhan-tat").hidden = true;
    state.disabling = null;
  }
  focusOn($("#tieu-de-danh-muc"));
});

// -- the API check ----------------------------------------------------------------------------------------------

function resetSample() {
  const type = checkForm.elements.api_type.value;
  const sample = state.samples[type] || { message_id: `KIEMTRA:${type}`, type };
  checkForm.elements.body.value = JSON.stringify(sample, null, 2);
}

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function callView(title, call, { session = false } = {}) {
  const rows = [["URL", call.url]];
  let verdict;
  if (call.error) {
    verdict = { tone: "bad", text: `✗ Không có trả lời: ${call.error.message} (${call.error.code})` };
  } else {
    const ok = call.status >= 200 && call.status < 300;
    verdict = { tone: ok ? "ok" : "bad", text: `${ok ? "✓" : "✗"} HTTP ${call.status}` };
    rows.push(["Thời gian trả lời", `${call.latency_ms} ms`]);
    if (session) rows.push(["Token", call.token_received ? "Đã nhận token (không hiển thị)" : "Không đọc được token"]);
    if (call.redirect_not_followed) rows.push(["Chuyển hướng", "Trả lời chuyển hướng: Cổng không đi theo"]);
  }
  const parts = [h("h4", {}, title), h("p", { class: "status province-verdict", dataset: { tone: verdict.tone } },
    verdict.text), h("dl", { class: "facts" }, rows.map(([t, v]) => [h("dt", {}, t), h("dd", {}, v)]))];
  if (call.headers) {
    parts.push(dataTable(`${title}: tiêu đề trả lời`, ["Tên", "Giá trị"],
      Object.entries(call.headers).map(([k, v]) => [k, v])));
  }
  if (!session && call.body !== undefined) {
    parts.push(h("p", { class: "h3" }, `${title}: nội dung trả lời`),
      h("pre", { class: "province-body", tabindex: "0", "aria-label": `${title}: nội dung trả lời` },
        pretty(call.body) || "(trống)"));
    if (call.truncated) parts.push(h("p", { class: "muted" }, "Nội dung dài, chỉ hiển thị phần đầu."));
  } else if (session) {
    parts.push(h("p", { class: "muted" }, "Nội dung trả lời của API lấy session chứa token nên không hiển thị."));
  }
  return h("div", { class: "province-call" }, parts);
}

function showResult(answer) {
  const box = $("#ket-qua-noi-dung");
  if (answer.session) {
    fill(box, callView("Gọi API lấy session", answer.session, { session: true }),
      callView("Gọi API lấy dữ liệu", answer.data));
  } else {
    fill(box, callView("Gọi URL", answer));
  }
  $("#ket-qua").hidden = false;
  focusOn($("#tieu-de-ket-qua"));
}

function toggleUrl() {
  const toUrl = checkForm.elements.gui_toi.value === "url";
  $("#truong-url").hidden = !toUrl;
}

onSubmit(checkForm, "Đang gửi…", async () => {
  clearErrors(checkForm);
  const el = checkForm.elements;
  let body;
  try {
    body = JSON.parse(el.body.value);
  } catch (err) {
    fieldError(checkForm, "body", `Dữ liệu gửi không phải JSON hợp lệ (${err.message}).`).focus();
    return;
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    fieldError(checkForm, "body", "Dữ liệu gửi phải là một đối tượng JSON { … }.").focus();
    return;
  }
  const type = el.api_type.value;
  const agency = state.province.agency_code;
  let answer;
  try {
    if (el.gui_toi.value === "url") {
      answer = await staff("POST", "/v1/api-checks", { json: { url: el.url.value.trim(), api_type: type, body,
        agency_code: agency } });
    } else {
      answer = await staff("POST", `/v1/provinces/${enc(agency)}/apis/${enc(type)}/check`, { json: { body } });
    }
  } catch (problem) {
    $("#ket-qua").hidden = true;
    const codeFields = el.gui_toi.value === "url" ? { URL_INVALID: "url", URL_SCHEME_NOT_ALLOWED: "url",
      URL_USERINFO_NOT_ALLOWED: "url", URL_IP_ENCODING_NOT_ALLOWED: "url", URL_ADDRESS_NOT_ALLOWED: "url",
      URL_ADDRESS_INVALID: "url", URL_HOST_UNRESOLVED: "url" } : { PROVINCE_API_NOT_FOUND: "api_type" };
    showProblem(checkForm, problem, codeFields);
    return;
  }
  showResult(answer);
  try {
    await loadAll();
  } catch {
    // the trail refreshes on the next visit
  }
});

if (requireSession("staff")) {
  for (const select of [$("#loai-api"), checkForm.elements.api_type]) {
    fill(select, API_TYPES.map((t) => h("option", { value: t.code }, t.label)));
  }
  checkForm.elements.api_type.addEventListener("change", resetSample);
  for (const radio of checkForm.elements.gui_toi) radio.addEventListener("change", toggleUrl);
  $("#mau-lai").addEventListener("click", resetSample);
  const failed = await chooseProvince(chooser, show);
  if (failed) showRefusal(refusal, failed, content);
  ready($("button[type=submit]", chooser), $("button[type=submit]", checkForm));
}
