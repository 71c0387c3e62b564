// What the one-stop officer's two screens share: their own one-stop units (GET /v1/officers/me/units, decided by
// the API on the officer's stored right and units), the unit choice, the refusal shown when the API says no, and
// problems whose field errors a form cannot place beside a field.
import { ApiProblem } from "./api.js";
import { fill, focusOn, h } from "./dom.js";
import { showProblem } from "./forms.js";
import { authed } from "./session.js";

export const ACCOUNT_STATUS = { active: "Đang hoạt động", locked: "Đã khóa", deleted: "Đã xóa" };

/** The officer's one-stop units [{code, name}], or throws the API's refusal (403 CREATE_RIGHT_MISSING...). */
export async function myUnits() {
  return (await authed("staff", "GET", "/v1/officers/me/units")).items;
}

/** Fill a <select> with the units ("<name> (<code>)"), optionally led by an "all" option. */
export function unitOptions(select, units, allLabel = "") {
  fill(select, allLabel ? h("option", { value: "" }, allLabel) : null,
    units.map((u) => h("option", { value: u.code }, `${u.name} (${u.code})`)));
}

/** The API's refusal of the whole screen (no right, no one-stop unit), in the page's alert, focused. */
export function showRefusal(alert, problem, ...hide) {
  for (const el of hide) el.hidden = true;
  fill(alert, h("p", {}, h("strong", {}, "Không thể sử dụng chức năng này")), h("p", {}, problem.detail),
    problem.status === 403 ? h("p", {}, "Vui lòng liên hệ quản trị cấp tỉnh để được gán đơn vị một cửa và Quyền tạo tài khoản công dân.") : null);
  alert.hidden = false;
  focusOn(alert);
}

/**
 * showProblem, after giving field errors that name the whole request ("body") the field their code concerns
 * (`byCode`), and listing above the form every message when one names a field the form has no slot for.
 */
export function showPlaced(form, problem, byCode = {}, extra = []) {
  const errors = (problem.errors || []).map((e) => ({ ...e, field: byCode[e.code] || e.field }));
  const slotFor = (e) => form.querySelector(`#${CSS.escape(String(e.field || "").split(".")[0])}-error`);
  if (errors.length && errors.every(slotFor)) {
    showProblem(form, new ApiProblem({ ...problem, errors }), {}, extra);
    return;
  }
  const listed = errors.length ? [h("ul", {}, errors.map((e) => h("li", {}, e.message)))] : [];
  showProblem(form, new ApiProblem({ ...problem, errors: [] }), {}, [...listed, ...extra]);
}

/** "14/03/1995" (also 14-3-1995, 14.03.1995) -> "1995-03-14"; null when it is not a calendar date. */
export function isoFromVn(text) {
  const m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec((text || "").trim());
  if (!m) return null;
  const [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const when = new Date(Date.UTC(y, mo - 1, d));
  if (when.getUTCFullYear() !== y || when.getUTCMonth() !== mo - 1 || when.getUTCDate() !== d) return null;
  return `${y}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** "+84912345678" -> "0912345678" (how people write a Vietnamese mobile number). */
export function localPhone(e164) {
  return typeof e164 === "string" && e164.startsWith("+84") ? `0${e164.slice(3)}` : e164 || "";
}
