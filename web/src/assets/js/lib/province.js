// Shared by the province console (API registry and check, delivery health, alert contacts): the province chooser
// (?tinh=<agency code> in the URL, carried by the section menu), refusals shown in place of the content, data tables,
// and API field errors mapped by their full dotted path ("phones.2" -> the third phone's input).
import { $, $$, fill, focusOn, h } from "./dom.js";
import { clearErrors, fieldError, showProblem } from "./forms.js";
import { authed, roles } from "./session.js";

export const API_TYPES = [
  { code: "payment_result", label: "API BNDP thanh toán thuế đất", required: true },
  { code: "notice", label: "API BNDP nhận thông báo thuế đất", required: false },
  { code: "receipt_file", label: "API file đính kèm", required: false },
];

export const apiTypeLabel = (code) => API_TYPES.find((t) => t.code === code)?.label || code;

export const isOperator = () => roles("staff").includes("operator");

/** GET/PUT/POST as the signed-in staff user (JSON). */
export const staff = (method, path, opts) => authed("staff", method, path, opts);

export const enc = encodeURIComponent;

/** The provinces the user may choose: all 34 for an operator, their own for a province administrator. */
async function provinceList() {
  try {
    const answer = await staff("GET", "/v1/onboarding/provinces");
    return answer.provinces.map((p) => ({ agency_code: p.agency_code, province_code: p.province_code,
      province_name: p.province_name }));
  } catch {
    // the integration dashboard unavailable: the configured provinces in scope still name themselves
    const answer = await staff("GET", "/v1/provinces");
    const seen = new Map();
    for (const a of answer.apis) seen.set(a.agency_code, { agency_code: a.agency_code, province_code: a.province_code,
      province_name: a.province_name });
    return [...seen.values()];
  }
}

function carry(agency) {
  const url = new URL(location.href);
  url.searchParams.set("tinh", agency);
  history.replaceState(null, "", url.pathname + url.search);
  for (const a of $$(".console-nav a")) {
    const target = new URL(a.getAttribute("href"), location.origin);
    target.searchParams.set("tinh", agency);
    a.setAttribute("href", target.pathname + target.search);
  }
}

/**
 * Fill the chooser form (select#tinh) and call `show(province)` with the chosen one now and on each change. A
 * province asked for in the URL that is not in the list is still tried: the API answers whether it is allowed.
 */
export async function chooseProvince(form, show) {
  const select = $("select", form);
  let list = [];
  try {
    list = await provinceList();
  } catch (problem) {
    return problem;
  }
  const wanted = new URLSearchParams(location.search).get("tinh");
  if (wanted && /^[0-9A-Z.]{1,35}$/.test(wanted) && !list.some((p) => p.agency_code === wanted)) {
    list.push({ agency_code: wanted, province_code: "", province_name: wanted });
  }
  fill(select, list.map((p) => h("option", { value: p.agency_code }, `${p.province_name} (${p.agency_code})`)));
  if (wanted && list.some((p) => p.agency_code === wanted)) select.value = wanted;
  const chosen = () => list.find((p) => p.agency_code === select.value);
  const go = () => {
    const p = chosen();
    if (!p) return;
    carry(p.agency_code);
    show(p);
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go();
  });
  select.addEventListener("change", go);
  if (list.length) go();
  return null;
}

/** Show an API refusal (403 of another province, a failure) in place of the content, and move focus to it. */
export function showRefusal(box, problem, content) {
  if (content) content.hidden = true;
  fill(box, h("p", {}, h("strong", {}, problem.title || "Không thực hiện được")), h("p", {}, problem.detail));
  box.hidden = false;
  focusOn(box);
}

export function hideRefusal(box, content) {
  box.hidden = true;
  box.replaceChildren();
  if (content) content.hidden = false;
}

/** <div class="table-wrap" role="region"><table class="data">: head is a list of labels, rows lists of cells. */
export function dataTable(caption, head, rows, { id } = {}) {
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h("table", { class: "data", id },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, head.map((label) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell, i) =>
        i === 0 ? h("th", { scope: "row" }, cell) : h("td", {}, cell)))))));
}

/**
 * showProblem with each field error placed by its full dotted path first ("phones.2", "credentials.password"),
 * then by shorter prefixes ("credentials"), so a list's third entry gets its own message.
 */
export function showFieldProblem(form, problem) {
  const errors = problem.errors || [];
  if (!errors.length) return showProblem(form, problem);
  clearErrors(form);
  const targets = [];
  const unplaced = [];
  for (const e of errors) {
    const parts = String(e.field || "").split(".");
    let target = null;
    for (let n = parts.length; n > 0 && !target; n -= 1) {
      const name = parts.slice(0, n).join(".");
      if (form.querySelector(`#${CSS.escape(name)}-error`)) {
        target = fieldError(form, name, e.message);
        if (target && target.tagName === "P") target = form.querySelector(`[name^="${CSS.escape(name)}."]`) || target;
      }
    }
    if (target) targets.push(target); else unplaced.push(e.message);
  }
  if (unplaced.length || !targets.length) {
    const general = $("[data-form-error]", form);
    fill(general, h("p", {}, problem.detail), unplaced.length ? h("ul", {}, unplaced.map((m) => h("li", {}, m))) : null);
    general.hidden = false;
    if (!targets.length) {
      general.focus();
      return;
    }
  }
  targets[0].focus();
}
