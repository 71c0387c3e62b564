// Alert contacts (M12): the units' registered phones and emails per service type (GET /v1/alert-contacts), a form
// with rows to add and remove (PUT /v1/alert-contacts/{unit}/{service}: each field error beside its own row, e.g.
// phones.2 on the third phone), and removal with confirmation (DELETE).
import { $, $$, fill, focusOn, h, ready } from "../lib/dom.js";
import { clearErrors, onSubmit } from "../lib/forms.js";
import { dateTime } from "../lib/format.js";
import { chooseProvince, dataTable, enc, hideRefusal, showFieldProblem, showRefusal, staff } from "../lib/province.js";
import { requireSession } from "../lib/session.js";

const MAX = 10;
const LISTS = {
  phones: { label: "Số điện thoại", type: "tel", autocomplete: "tel", inputmode: "tel" },
  emails: { label: "Thư điện tử", type: "email", autocomplete: "email", inputmode: "email" },
};

const refusal = $("#tu-choi");
const content = $("#bang-dieu-khien");
const form = $("#form-canh-bao");
const state = { province: null, contacts: [], removing: null };

const hCode = (code) => String(code || "").split(".").pop();

function rowsOf(list) {
  return $$(`[data-list=${list}] input`, form).map((i) => i.value.trim());
}

function renderRows(list, values) {
  const spec = LISTS[list];
  const shown = values.length ? values : [""];
  fill($(`[data-list=${list}]`, form), shown.map((value, i) => {
    const id = `${list}.${i}`;
    return h("div", { class: "field province-row" },
      h("label", { for: id }, `${spec.label} ${i + 1}`),
      h("p", { class: "field__error", id: `${id}-error`, hidden: true }),
      h("div", { class: "province-row__line" },
        h("input", { id, name: id, type: spec.type, autocomplete: spec.autocomplete, inputmode: spec.inputmode,
          spellcheck: "false", maxlength: "254", value }),
        h("button", { class: "btn btn--secondary", type: "button", dataset: { remove: list, index: String(i) },
          "aria-label": `Xóa ${spec.label.toLowerCase()} ${i + 1}` }, "Xóa")));
  }));
  $(`[data-add=${list}]`, form).disabled = shown.length >= MAX;
}

form.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.dataset.add) {
    const list = button.dataset.add;
    const values = rowsOf(list);
    if (values.length >= MAX) return;
    renderRows(list, [...values, ""]);
    $(`#${CSS.escape(`${list}.${values.length}`)}`).focus();
  }
  if (button.dataset.remove) {
    const list = button.dataset.remove;
    const values = rowsOf(list);
    values.splice(Number(button.dataset.index), 1);
    renderRows(list, values);
    const rows = $$(`[data-list=${list}] input`, form);
    (rows[Math.min(Number(button.dataset.index), rows.length - 1)] || rows[0]).focus();
  }
});

function renderList() {
  const mine = state.contacts.filter((c) => hCode(c.unit_code) === hCode(state.province.agency_code));
  const note = $("#danh-sach-thong-bao");
  if (!mine.length) {
    $("#danh-sach").replaceChildren();
    if (!note.textContent) note.textContent = `${state.province.province_name} chưa đăng ký đơn vị nào nhận cảnh báo.`;
    return;
  }
  fill($("#danh-sach"), dataTable(`Đơn vị nhận cảnh báo của ${state.province.province_name}`,
    ["Đơn vị", "Dịch vụ", "Số điện thoại", "Thư điện tử", "Cập nhật", "Thao tác"],
    mine.map((c) => [c.unit_code, c.service_name,
      c.phones.length ? h("ul", { class: "province-plain" }, c.phones.map((p) => h("li", {}, p))) : "—",
      c.emails.length ? h("ul", { class: "province-plain" }, c.emails.map((e) => h("li", {}, e))) : "—",
      c.updated_at ? `${dateTime(c.updated_at)}${c.updated_by ? `, ${c.updated_by}` : ""}` : "—",
      h("div", { class: "province-row-actions" },
        h("button", { class: "btn btn--secondary", type: "button", dataset: { edit: c.unit_code, service: c.service_type },
          "aria-label": `Sửa đăng ký của ${c.unit_code}` }, "Sửa"),
        h("button", { class: "btn btn--secondary", type: "button",
          dataset: { delete: c.unit_code, service: c.service_type },
          "aria-label": `Xóa đăng ký của ${c.unit_code}` }, "Xóa"))]), { id: "bang-canh-bao" }));
}

async function load() {
  const answer = await staff("GET", "/v1/alert-contacts");
  state.contacts = answer.contacts;
  renderList();
}

async function show(province) {
  state.province = province;
  $("#danh-sach-thong-bao").textContent = "";
  closeForm();
  try {
    await load();
  } catch (problem) {
    showRefusal(refusal, problem, content);
    return;
  }
  hideRefusal(refusal, content);
}

function closeForm() {
  $("#dang-ky").hidden = true;
}

function openForm(contact) {
  clearErrors(form);
  form.elements.unit_code.value = contact?.unit_code || state.province.agency_code;
  form.elements.unit_code.readOnly = Boolean(contact);
  form.elements.service_type.value = contact?.service_type || "land_tax_payment";
  renderRows("phones", contact?.phones || []);
  renderRows("emails", contact?.emails || []);
  $("#tieu-de-dang-ky").textContent = contact ? `Sửa đăng ký của ${contact.unit_code}` : "Đăng ký nhận cảnh báo";
  $("#dang-ky").hidden = false;
  focusOn($("#tieu-de-dang-ky"));
}

$("#them-moi").addEventListener("click", () => openForm(null));
$("#huy-dang-ky").addEventListener("click", () => {
  closeForm();
  focusOn($("#tieu-de-danh-sach"));
});

$("#danh-sach").addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  const find = (unit) => state.contacts.find((c) => c.unit_code === unit && c.service_type === button.dataset.service);
  if (button.dataset.edit) openForm(find(button.dataset.edit));
  if (button.dataset.delete) {
    state.removing = find(button.dataset.delete);
    $("#xac-nhan-xoa-cau-hoi").textContent =
      `Xóa mọi số điện thoại và thư điện tử nhận cảnh báo của ${state.removing.unit_code} (${state.removing.service_name})?`;
    $("#xac-nhan-xoa").hidden = false;
    focusOn($("#xac-nhan-xoa"));
  }
});

$("#xoa-huy").addEventListener("click", () => {
  $("#xac-nhan-xoa").hidden = true;
  focusOn($("#tieu-de-danh-sach"));
});

$("#xoa-dong-y").addEventListener("click", async (event) => {
  const target = state.removing;
  if (!target) return;
  event.target.disabled = true;
  const note = $("#danh-sach-thong-bao");
  try {
    await staff("DELETE", `/v1/alert-contacts/${enc(target.unit_code)}/${enc(target.service_type)}`);
    note.textContent = `Đã xóa đăng ký nhận cảnh báo của ${target.unit_code}.`;
    await load();
  } catch (problem) {
    note.textContent = problem.detail;
  } finally {
    event.target.disabled = false;
    $("#xac-nhan-xoa").hidden = true;
    state.removing = null;
  }
  focusOn($("#tieu-de-danh-sach"));
});

onSubmit(form, "Đang lưu…", async () => {
  // Empty rows are dropped first, so the index an API error names (phones.2) is the row it is shown beside.
  const phones = rowsOf("phones").filter(Boolean);
  const emails = rowsOf("emails").filter(Boolean);
  renderRows("phones", phones);
  renderRows("emails", emails);
  const unit = form.elements.unit_code.value.trim();
  const service = form.elements.service_type.value;
  if (!/^[0-9A-Z]+\.[0-9A-Z]+\.[0-9A-Z]+\.[A-Z][0-9]{2}$/.test(unit)) {
    showFieldProblem(form, { detail: "Mã định danh đơn vị không hợp lệ.", errors: [
      { field: "unit_code", message: "Mã định danh đơn vị có dạng 000.00.00.H35." }] });
    return;
  }
  try {
    await staff("PUT", `/v1/alert-contacts/${enc(unit)}/${enc(service)}`, { json: { phones, emails } });
  } catch (problem) {
    showFieldProblem(form, problem);
    return;
  }
  closeForm();
  $("#danh-sach-thong-bao").textContent = `Đã lưu đăng ký nhận cảnh báo của ${unit}.`;
  await load();
  focusOn($("#tieu-de-danh-sach"));
});

if (requireSession("staff")) {
  const failed = await chooseProvince($("#chon-tinh"), show);
  if (failed) showRefusal(refusal, failed, content);
  ready($("button[type=submit]", $("#chon-tinh")), $("#them-moi"));
}
