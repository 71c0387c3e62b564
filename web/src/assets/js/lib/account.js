// Helpers of the citizen account screens (screen 2): API problems for forms whose fields carry a prefix (two forms
// of one page may ask for the same API field, and ids must stay unique), the "type it twice" check of a new
// password, and a phone as Vietnamese read it.
import { ApiProblem } from "./api.js";
import { fieldError } from "./forms.js";

/** The problem with each field error renamed to the form's control: {new_password: "reset_new_password"}. */
export function renamed(problem, names) {
  if (!(problem instanceof ApiProblem)) return problem;
  const errors = (problem.errors || []).map((e) => {
    const [head, ...rest] = String(e.field || "").split(".");
    return head in names ? { ...e, field: [names[head], ...rest].join(".") } : e;
  });
  return new ApiProblem({ ...problem.extra, status: problem.status, code: problem.code, title: problem.title,
    detail: problem.detail, errors });
}

/** Both entries of a new password typed and equal; otherwise the message beside the field, focused, and false. */
export function passwordsAgree(form, fields, name, again) {
  if (!fields[name]) {
    fieldError(form, name, "Vui lòng nhập mật khẩu mới.")?.focus();
    return false;
  }
  if (fields[name] !== fields[again]) {
    fieldError(form, again, "Hai lần nhập mật khẩu mới không khớp.")?.focus();
    return false;
  }
  return true;
}

/** "+84912345678" -> "0912 345 678" (how the phone is written in Vietnam). */
export function phoneText(e164) {
  if (!e164) return "";
  const local = String(e164).replace(/^\+84/, "0");
  return /^0\d{9}$/.test(local) ? `${local.slice(0, 4)} ${local.slice(4, 7)} ${local.slice(7)}` : local;
}
