// Support requests (Quản lý yêu cầu hỗ trợ): the list with its search (GET /v1/support-requests, cursor paging),
// a new request (POST /v1/support-requests, province administrators), one request (?ma=YC...: comments, history,
// audit trail, the 8-working-hour clock, attachment links), comments, status moves (operators process; the
// requester cancels or answers), applying a configuration request (operators) and the operators' monthly report.
// One page, three views chosen by the query: ?ma=<request id>, ?tao=1 (new; ?loai= and ?lan= prefill it), else list.
import { ApiProblem } from "../lib/api.js";
import { $, facts, fill, focusOn, h, ready } from "../lib/dom.js";
import { clearError, clearErrors, fieldError, onSubmit, showProblem, values } from "../lib/forms.js";
import { date, dateTime } from "../lib/format.js";
import { requireSession } from "../lib/session.js";
import {
  API_TYPES, AUDIT_ACTIONS, CLOSED, NEEDS_REASON, ONBOARDING_PAGE, PARTY, SUPPORT_PAGE, attachmentHint,
  attachmentLink, attachmentRefusal, catalogue, clockWords, dataTable, fileRefusal, get, isOperator, movesFrom, options,
  post, size, statusTone, uploadAttachment,
} from "../lib/support.js";
import { fileSize } from "../lib/upload.js";

const query = new URLSearchParams(location.search);
const PAGE_SIZE = 20;

function pageError(problem) {
  const box = $("#loi-trang");
  fill(box, h("p", {}, problem.detail));
  box.hidden = false;
  focusOn(box);
}

/** Keep only the view in use (the others' field slots share the API's field names). */
function only(id) {
  for (const other of ["danh-sach", "tao-moi", "chi-tiet"]) {
    if (other === id) $(`#${other}`).hidden = false;
    else $(`#${other}`).remove();
  }
}

// --- attachments (a field of the new-request form and of the comment form) --------------------------------------------

// The upload already made for a chosen file: a submit refused for another field sends the same attachment ids again
// instead of uploading every file twice (an unused upload stays tagged pending and expires).
const uploaded = new WeakMap();

function chosen(form) {
  return [...(form.querySelector("input[type=file]")?.files || [])];
}

/** One line per chosen file: its name, size and where its upload stands (said in words, not colour). */
function fileStates(form, states = []) {
  const list = form.querySelector("[data-upload-status]");
  const files = chosen(form);
  fill(list, files.map((file, i) => h("li", { class: "upload-file", dataset: { tone: states[i]?.tone || "wait" } },
    `${file.name} (${fileSize(file.size)}): ${states[i]?.text || (uploaded.has(file) ? "đã tải lên." : "chờ gửi.")}`)));
  list.hidden = !files.length;
}

function refusedFiles(message) {
  return new ApiProblem({ status: 0, code: "ATTACHMENT_REFUSED", detail: message,
    errors: [{ field: "attachments", code: "ATTACHMENT_REFUSED", message }] });
}

/** Wire a form's file field: the catalogue's limits in its hint, each choice checked and listed at once. */
function attachmentField(form, limits, existing = () => []) {
  const input = form.querySelector("input[type=file]");
  $(`#${input.id}-hint`).textContent = attachmentHint(limits);
  input.addEventListener("change", () => {
    clearError(form, "attachments");
    fileStates(form, chosen(form).map((file) => (fileRefusal(file, limits)
      ? { text: "không được chấp nhận.", tone: "bad" } : null)));
    const refusal = attachmentRefusal(chosen(form), limits, existing());
    if (refusal) fieldError(form, "attachments", refusal);
  });
}

/** Upload every chosen file (checked first: type, sizes, count), the `attachments` a request or comment sends. */
async function attachmentsOf(form, limits, existing = []) {
  const files = chosen(form);
  if (!files.length) return [];
  const refusal = attachmentRefusal(files, limits, existing);
  if (refusal) throw refusedFiles(refusal);
  const states = files.map((file) => (uploaded.has(file) ? { text: "đã tải lên.", tone: "ok" } : null));
  const out = [];
  for (const [i, file] of files.entries()) {
    if (!uploaded.has(file)) {
      states[i] = { text: `đang tải lên (tệp ${i + 1}/${files.length})…` };
      fileStates(form, states);
      try {
        uploaded.set(file, await uploadAttachment(file));
      } catch (problem) {
        states[i] = { text: `chưa tải lên được. ${problem.detail || ""}`.trim(), tone: "bad" };
        fileStates(form, states);
        throw problem;
      }
      states[i] = { text: "đã tải lên.", tone: "ok" };
      fileStates(form, states);
    }
    out.push(uploaded.get(file));
  }
  return out;
}

/** The API refused an attachment when filing or commenting: upload those files afresh on the next submit. */
function forgetUploads(form, problem) {
  if (problem instanceof ApiProblem && "attachments" in problem.fieldErrors()) {
    for (const file of chosen(form)) uploaded.delete(file);
  }
}

// --- the list ---------------------------------------------------------------------------------------------------------

function listView(cat) {
  const form = $("#form-loc");
  fill($("#f-service_group"), options(cat.service_groups.map((g) => [g.code, g.name]), "Tất cả"));
  fill($("#f-request_type"), options(Object.entries(cat.request_types).map(([k, v]) => [k, v.name]), "Tất cả"));
  fill($("#f-status"), options(Object.entries(cat.statuses), "Tất cả"));
  $("#hanh-dong-tao").hidden = isOperator(); // only a province administrator files
  const cursors = [null]; // cursors[i] opens page i+1
  let at = 0;
  let filters = {};

  async function load(index) {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
    if (cursors[index]) params.set("cursor", cursors[index]);
    try {
      const page = await get(`/v1/support-requests?${params}`);
      at = index;
      cursors[index + 1] = page.next_cursor;
      render(page, index);
    } catch (problem) {
      showProblem(form, problem);
    }
  }

  function render(page, index) {
    const first = index * PAGE_SIZE;
    $("#so-ket-qua").textContent = page.items.length
      ? `Trang ${index + 1}: ${page.items.length} yêu cầu.` : "Không có yêu cầu hỗ trợ nào phù hợp.";
    fill($("#ket-qua"), page.items.length ? dataTable("Danh sách yêu cầu hỗ trợ", [["STT", true],
      ["Tên yêu cầu hỗ trợ"], ["Đơn vị yêu cầu"], ["Người yêu cầu"], ["Thời gian yêu cầu"], ["Trạng thái"],
      ["Thời hạn xử lý"], ["Thao tác"]], page.items.map((r, i) => [
      String(first + i + 1), r.title, r.unit_name, r.requester_name, dateTime(r.created_at),
      h("span", { class: "support-badge", dataset: { tone: statusTone(r.status) } }, r.status_label),
      CLOSED.has(r.status) ? "—" : clockWords(r.sla),
      h("a", { class: "support-link", href: `?ma=${encodeURIComponent(r.request_id)}`, "aria-label": `Xem chi tiết: ${r.title}` },
        "Xem chi tiết"),
    ])) : null);
    $("#phan-trang").hidden = index === 0 && !page.next_cursor;
    $("#trang-truoc").disabled = index === 0;
    $("#trang-sau").disabled = !page.next_cursor;
    $("#so-trang").textContent = `Trang ${index + 1}`;
  }

  onSubmit(form, "Đang tìm…", async (v) => {
    clearErrors(form);
    if (v.from_date && v.to_date && v.from_date > v.to_date) {
      fieldError(form, "to_date", "Ngày kết thúc phải từ ngày bắt đầu trở đi.")?.focus();
      return;
    }
    filters = v;
    cursors.length = 1;
    await load(0);
  });
  $("#trang-truoc").addEventListener("click", () => load(Math.max(0, at - 1)));
  $("#trang-sau").addEventListener("click", () => load(at + 1));
  if (isOperator()) monthlyReport();
  return load(0);
}

function monthText(m) {
  const [y, mm] = m.split("-");
  return `${mm}/${y}`;
}

function monthlyReport() {
  const section = $("#bao-cao");
  const form = $("#form-bao-cao");
  section.hidden = false;
  const now = new Date(Date.now() + 7 * 3600 * 1000); // Vietnam's month
  const ym = (d) => `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  $("#to_month").value = ym(now);
  $("#from_month").value = ym(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 5, 1)));
  const pct = (v) => (v === null ? "—" : `${String(Math.round(v * 10) / 10).replace(".", ",")} %`);
  const hours = (v) => (v === null ? "—" : String(Math.round(v * 10) / 10).replace(".", ","));
  const run = async ({ from_month, to_month }) => {
    clearErrors(form);
    try {
      const report = await get(`/v1/support-reports/monthly?${new URLSearchParams({ from_month, to_month })}`);
      fill($("#bang-bao-cao"), report.months.length ? dataTable(
        `Yêu cầu đã đóng theo tháng (thời hạn ${report.budget_working_hours} giờ làm việc)`,
        [["Tháng"], ["Đã xử lý", true], ["Trong hạn", true], ["Quá hạn", true], ["Đã xử lý xong", true],
          ["Từ chối", true], ["Hủy", true], ["Tỉ lệ trong hạn", true], ["Bình quân (giờ làm việc)", true]],
        report.months.map((m) => [monthText(m.month), String(m.handled), String(m.within_clock), String(m.late),
          String(m.done), String(m.rejected), String(m.cancelled), pct(m.share_within_clock),
          hours(m.average_working_hours)]))
        : h("p", {}, "Chưa có yêu cầu nào được đóng trong khoảng thời gian này."));
    } catch (problem) {
      showProblem(form, problem);
    }
  };
  onSubmit(form, "Đang tải…", run);
  run(values(form));
}

// --- a new request ----------------------------------------------------------------------------------------------------

function apiFieldset(type, label, checked) {
  const id = (f) => `api-${type}-${f}`;
  const input = (f, text, attrs) => h("div", { class: "field" }, h("label", { for: id(f) }, text),
    h("input", { id: id(f), name: id(f), maxlength: "2048", spellcheck: "false", ...attrs }));
  return h("fieldset", { class: "support-api" },
    h("legend", {}, label),
    h("div", { class: "support-check" }, h("input", { type: "checkbox", id: id("on"), name: id("on"), value: "1",
      checked }), h("label", { for: id("on") }, "Đề nghị cấu hình API này")),
    input("session_url", "URL API lấy session", { type: "url", placeholder: "https://" }),
    input("data_url", "URL API lấy dữ liệu", { type: "url", placeholder: "https://" }),
    input("username", "Tên đăng nhập API", { type: "text", autocomplete: "off" }),
    input("password", "Mật khẩu API", { type: "password", autocomplete: "new-password" }));
}

function apisOf(v) {
  return Object.keys(API_TYPES).filter((t) => v[`api-${t}-on`]).map((t) => {
    const api = { api_type: t, session_url: v[`api-${t}-session_url`], data_url: v[`api-${t}-data_url`] };
    const username = v[`api-${t}-username`];
    const password = v[`api-${t}-password`];
    if (username || password) api.credentials = { username, password };
    return api;
  });
}

function newView(cat) {
  const form = $("#form-tao");
  const type = $("#request_type");
  const group = $("#service_group");
  fill(type, options(Object.entries(cat.request_types).map(([k, v]) => [k, v.name])));
  fill(group, options(cat.service_groups.map((g) => [g.code, g.name])));
  fill($("#cac-api"), Object.entries(API_TYPES).map(([t, l]) => apiFieldset(t, l, t === "payment_result")));
  const services = () => fill($("#service"), options(
    (cat.service_groups.find((g) => g.code === group.value)?.services || []).map((s) => [s.code, s.name]),
    "Không chọn"));
  const byType = () => {
    $("#nhom-api").hidden = type.value !== "api_configuration";
    $("#nhom-minh-chung").hidden = type.value !== "integration_confirmation";
    $("#title-hint").textContent = `Theo quy ước: ${cat.request_types[type.value].title_example}`;
  };
  group.addEventListener("change", services);
  type.addEventListener("change", byType);
  if (query.get("loai") in cat.request_types) type.value = query.get("loai");
  services();
  if ($("#service").options.length > 1) $("#service").selectedIndex = 1;
  $("#self_test_run_id").value = query.get("lan") || "";
  byType();
  attachmentField(form, cat.limits);

  onSubmit(form, "Đang gửi…", async (v) => {
    clearErrors(form);
    const body = { request_type: v.request_type, service_group: v.service_group, service: v.service || null,
      requester_name: v.requester_name, requester_phone: v.requester_phone, feedback_email: v.feedback_email,
      title: v.title, description: v.description,
      contact: v.contact_name || v.contact_phone ? { name: v.contact_name, phone: v.contact_phone } : null };
    if (v.request_type === "api_configuration") {
      body.apis = apisOf(v);
      if (!body.apis.length) {
        fieldError(form, "apis", "Vui lòng chọn ít nhất một API cần cấu hình.")?.focus();
        return;
      }
    }
    if (v.request_type === "integration_confirmation") {
      body.evidence = { self_test_run_id: v.self_test_run_id || null };
    }
    try {
      body.attachments = await attachmentsOf(form, cat.limits);
      const filed = await post("/v1/support-requests", body);
      location.assign(`${SUPPORT_PAGE}?ma=${encodeURIComponent(filed.request_id)}&moi=1`);
    } catch (problem) {
      forgetUploads(form, problem);
      if (problem.detail) showProblem(form, problem, { ONBOARDING_STEP_NOT_REACHED: "evidence" });
      else throw problem;
    }
  });
  focusOn($("#tieu-de-tao"));
}

// --- one request ------------------------------------------------------------------------------------------------------

function who(by, party) {
  return `${by} (${PARTY[party] || party})`;
}

function auditDetail(a, statuses) {
  const bits = [];
  const label = (s) => statuses[s] || s || "";
  if (a.status_from || a.status_to) bits.push(`${label(a.status_from)} → ${label(a.status_to)}`);
  if (a.reason) bits.push(`Lý do: ${a.reason}`);
  if (a.attachments) bits.push(`${a.attachments} tệp đính kèm`);
  if (a.credentials_sealed) bits.push(`${a.credentials_sealed} thông tin đăng nhập đã niêm phong`);
  return bits.join("; ") || "—";
}

function renderRequest(r, cat) {
  const operator = isOperator();
  document.title = `${r.title} – Yêu cầu hỗ trợ – Cổng Dịch vụ công quốc gia`;
  $("#tieu-de-chi-tiet").textContent = r.title;
  const box = $("#trang-thai");
  box.dataset.tone = statusTone(r.status) === "info" ? "wait" : statusTone(r.status);
  fill(box, h("p", { class: "status__title" }, `Trạng thái: ${r.status_label}`),
    h("p", {}, CLOSED.has(r.status) ? `Đã đóng lúc ${dateTime(r.updated_at)}.` : clockWords(r.sla)),
    r.reason ? h("p", {}, `Lý do: ${r.reason}`) : null);
  facts($("#thong-tin"), [
    ["Mã yêu cầu", r.request_id],
    ["Đơn vị yêu cầu hỗ trợ", `${r.unit_name} (${r.unit_code})`],
    ["Nhóm dịch vụ", r.service_group.name],
    ["Dịch vụ", r.service?.name],
    ["Loại yêu cầu", cat.request_types[r.request_type]?.name || r.request_type],
    ["Người yêu cầu", r.requester_name],
    ["Số điện thoại", r.requester_phone],
    ["Đầu mối phối hợp xử lý", r.contact ? `${r.contact.name}, ${r.contact.phone}` : null],
    ["Email phản hồi", r.feedback_email],
    ["Thời gian yêu cầu", dateTime(r.created_at)],
    ["Cập nhật lần cuối", dateTime(r.updated_at)],
  ]);
  $("#mo-ta").textContent = r.description;

  fill($("#api-de-nghi"), r.apis.length ? dataTable("Các API đề nghị cấu hình", [["Loại API"], ["URL API lấy session"],
    ["URL API lấy dữ liệu"], ["Mã đơn vị"], ["Thông tin đăng nhập"], ["Kiểm tra khi gửi"]], r.apis.map((a) => [
    API_TYPES[a.api_type] || a.api_type, a.session_url, a.data_url, a.unit_code,
    a.has_credentials ? "Đã niêm phong" : "Không có", checkText(a.check)])) : null);
  const run = r.evidence?.self_test_run_id;
  fill($("#minh-chung"), r.evidence ? [h("h3", {}, "Minh chứng kiểm thử giao dịch"),
    run ? h("p", {}, "Lượt tự kiểm thử: ", h("a", { href: `${ONBOARDING_PAGE}?tinh=${encodeURIComponent(r.unit_code)}&lan=${encodeURIComponent(run)}` }, run))
      : h("p", {}, "Minh chứng là các tệp đính kèm của yêu cầu.")] : null);

  fill($("#tep-dinh-kem"), r.attachments.length ? [h("h3", {}, "File đính kèm"),
    h("ul", { class: "support-files" }, r.attachments.map((a) => attachmentItem(r.request_id, a)))] : null);

  const moves = CLOSED.has(r.status) ? [] : movesFrom(r.status, operator);
  $("#xu-ly").hidden = !moves.length;
  fill($("#status"), options(moves.map((s) => [s, cat.statuses[s]])));
  $("#truong-ly-do").hidden = !moves.some((s) => NEEDS_REASON.has(s));
  $("#ap-dung").hidden = !(operator && r.request_type === "api_configuration" && !CLOSED.has(r.status));

  fill($("#trao-doi"), r.comments?.length ? r.comments.map((c) => h("li", { class: "support-comment",
    dataset: { party: c.party } }, h("p", { class: "support-comment__who" }, `${who(c.by, c.party)} — ${dateTime(c.at)}`),
  h("p", { class: "support-text" }, c.text),
  c.attachment_ids.length ? h("p", {}, `${c.attachment_ids.length} tệp đính kèm (xem mục File đính kèm).`) : null))
    : h("li", {}, "Chưa có trao đổi nào."));
  $("#form-trao-doi").hidden = CLOSED.has(r.status);

  fill($("#lich-su"), dataTable("Lịch sử trạng thái", [["Thời gian"], ["Trạng thái"], ["Người thực hiện"], ["Ghi chú"]],
    r.history.map((s) => [dateTime(s.at), cat.statuses[s.status] || s.status, who(s.by, s.party), s.note || "—"])));
  fill($("#nhat-ky"), dataTable("Nhật ký thao tác", [["Thời gian"], ["Thao tác"], ["Người thực hiện"], ["Chi tiết"]],
    (r.audit || []).map((a) => [dateTime(a.at), AUDIT_ACTIONS[a.action] || a.action, who(a.by, a.party), auditDetail(a, cat.statuses)])));
}

function checkText(check) {
  const s = check?.session;
  if (!s) return "—";
  const bits = [s.status ? `mã ${s.status}` : "không trả lời"];
  if (typeof s.latency_ms === "number") bits.push(`${Math.round(s.latency_ms)} ms`);
  bits.push(s.token_received ? "đã nhận token" : "chưa nhận token");
  return bits.join(", ");
}

function attachmentItem(requestId, a) {
  const slot = h("span", { class: "support-file__link" });
  const button = h("button", { class: "btn btn--secondary", type: "button" }, `Lấy liên kết tải ${a.file_name}`);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const link = await attachmentLink(requestId, a.attachment_id);
      const minutes = Math.max(1, Math.floor(link.expires_in_s / 60));
      const anchor = h("a", { href: link.url, download: link.file_name, rel: "noopener" }, `Tải ${link.file_name}`);
      fill(slot, anchor, ` (liên kết có hiệu lực ${minutes} phút)`);
      button.hidden = true;
      anchor.focus();
    } catch (problem) {
      fill(slot, h("span", { class: "field__error" }, problem.detail));
    } finally {
      button.disabled = false;
    }
  });
  return h("li", { class: "support-file" }, h("span", {}, `${a.file_name} (${a.kind}, ${size(a.size_bytes)}, ${date(a.added_at)})`),
    button, slot);
}

async function detailView(cat, id) {
  let current;
  const show = (r) => {
    current = r;
    renderRequest(r, cat);
  };
  const reload = async () => show(await get(`/v1/support-requests/${encodeURIComponent(id)}`));
  try {
    await reload();
  } catch (problem) {
    $("#chi-tiet").hidden = true;
    pageError(problem);
    return;
  }
  if (query.get("moi")) {
    fill($("#ket-qua-ap-dung"));
    const note = h("p", { class: "alert support-note", role: "status" },
      `Đã gửi yêu cầu ${current.request_id}. Văn phòng Chính phủ xử lý trong 8 giờ làm việc; kết quả gửi về ${current.feedback_email}.`);
    $("#trang-thai").before(note);
  }

  const statusForm = $("#form-trang-thai");
  onSubmit(statusForm, "Đang cập nhật…", async (v) => {
    clearErrors(statusForm);
    try {
      await post(`/v1/support-requests/${encodeURIComponent(id)}/status`, { status: v.status, reason: v.reason || null });
      await reload();
      statusForm.reset();
      focusOn($("#trang-thai"));
    } catch (problem) {
      // The API names the whole body for a missing reason (code REASON_REQUIRED): it belongs beside the reason.
      const missing = (problem.errors || []).find((e) => e.code === "REASON_REQUIRED");
      if (missing) missing.field = "reason";
      showProblem(statusForm, problem, { REASON_REQUIRED: "reason" });
    }
  });

  const applyForm = $("#form-ap-dung");
  onSubmit(applyForm, "Đang áp dụng…", async () => {
    clearErrors(applyForm);
    try {
      const result = await post(`/v1/support-requests/${encodeURIComponent(id)}/apply`);
      await reload(); // the answer's request has no comments or audit trail (those come with the detail only)
      $("#ap-dung").hidden = false;
      applyForm.hidden = true;
      $("#ket-qua-ap-dung").textContent = `Đã áp dụng ${result.apis.length} API vào danh mục API của ${result.request.unit_name}.`;
      focusOn($("#ket-qua-ap-dung"));
    } catch (problem) {
      showProblem(applyForm, problem);
    }
  });

  const commentForm = $("#form-trao-doi");
  attachmentField(commentForm, cat.limits, () => current.attachments);
  onSubmit(commentForm, "Đang gửi…", async (v) => {
    clearErrors(commentForm);
    if (!v.text) {
      fieldError(commentForm, "text", "Vui lòng nhập nội dung trao đổi.")?.focus();
      return;
    }
    try {
      await post(`/v1/support-requests/${encodeURIComponent(id)}/comments`,
        { text: v.text, attachments: await attachmentsOf(commentForm, cat.limits, current.attachments) });
      commentForm.reset();
      fileStates(commentForm);
      await reload();
      $("#trao-doi").lastElementChild?.scrollIntoView({ block: "nearest" });
    } catch (problem) {
      forgetUploads(commentForm, problem);
      if (problem.detail) showProblem(commentForm, problem);
      else throw problem;
    }
  });
}

// --- start ------------------------------------------------------------------------------------------------------------

async function start() {
  let cat;
  try {
    cat = await catalogue();
  } catch (problem) {
    pageError(problem);
    return;
  }
  const id = query.get("ma");
  if (id) {
    only("chi-tiet");
    await detailView(cat, id);
  } else if (query.get("tao") && !isOperator()) {
    only("tao-moi");
    newView(cat);
  } else {
    only("danh-sach");
    await listView(cat);
  }
  ready(...document.querySelectorAll("button[disabled]:not(#trang-truoc):not(#trang-sau)"));
}

if (requireSession("staff")) start();
