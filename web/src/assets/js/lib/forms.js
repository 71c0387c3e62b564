// Forms: read fields, show an API problem as its Vietnamese detail next to the field it names (or above the form
// when it names none), and keep a submit from running twice while the first is under way.
import { $, fill, h } from "./dom.js";

/** The form's named fields as an object of trimmed strings. */
export function values(form) {
  const out = {};
  for (const [name, value] of new FormData(form)) out[name] = typeof value === "string" ? value.trim() : value;
  return out;
}

function errorSlot(form, name) {
  return form.querySelector(`#${CSS.escape(name)}-error`);
}

function describe(control, slot, on) {
  const ids = new Set((control.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean));
  if (on) ids.add(slot.id); else ids.delete(slot.id);
  if (ids.size) control.setAttribute("aria-describedby", [...ids].join(" "));
  else control.removeAttribute("aria-describedby");
}

function clearSlot(form, slot) {
  slot.hidden = true;
  slot.textContent = "";
  const name = slot.id.replace(/-error$/, "");
  for (const control of form.querySelectorAll(`[name="${CSS.escape(name)}"]`)) {
    control.removeAttribute("aria-invalid");
    describe(control, slot, false);
  }
  slot.closest(".field")?.classList.remove("field--error");
}

/** Remove one field's message (the field changed), leaving the others'. */
export function clearError(form, name) {
  const slot = errorSlot(form, name);
  if (slot) clearSlot(form, slot);
}

/** Remove every message shown by showProblem. */
export function clearErrors(form) {
  for (const slot of form.querySelectorAll(".field__error")) clearSlot(form, slot);
  const general = $("[data-form-error]", form);
  if (general) {
    general.hidden = true;
    general.replaceChildren();
  }
}

/** Show one field's message (used for API field errors and for choices the page requires). */
export function fieldError(form, name, message) {
  const slot = errorSlot(form, name);
  if (!slot) return null;
  slot.textContent = message;
  slot.hidden = false;
  slot.closest(".field")?.classList.add("field--error");
  const controls = [...form.querySelectorAll(`[name="${CSS.escape(name)}"]`)];
  for (const control of controls) {
    control.setAttribute("aria-invalid", "true");
    describe(control, slot, true);
  }
  return controls[0] || slot;
}

/**
 * Show an ApiProblem: each field error beside its field; the detail above the form when no field of the form took
 * it. `codeFields` maps problem codes that concern one field (e.g. NOTICE_NOT_FOUND -> notice_number) to it.
 * `extra` are nodes shown with the detail (a button to resolve the problem). Focus moves to the first message's
 * field, or to the message above the form, so keyboard and screen-reader users land on it.
 */
export function showProblem(form, problem, codeFields = {}, extra = []) {
  clearErrors(form);
  const byField = problem.fieldErrors();
  if (!Object.keys(byField).length && codeFields[problem.code]) byField[codeFields[problem.code]] = problem.detail;
  const targets = Object.entries(byField).map(([name, message]) => fieldError(form, name, message)).filter(Boolean);
  if (targets.length) {
    targets[0].focus();
    return;
  }
  const general = $("[data-form-error]", form);
  const unplaced = Object.values(byField);
  fill(general, h("p", {}, problem.detail), unplaced.length ? h("ul", {}, unplaced.map((m) => h("li", {}, m))) : null,
    ...extra);
  general.hidden = false;
  general.focus();
}

/**
 * Run `work` once per submit: the button is disabled and says `busyLabel` until it settles, and a second submit
 * (double click, Enter twice) while it runs does nothing.
 */
export function onSubmit(form, busyLabel, work) {
  let running = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (running) return;
    running = true;
    const button = form.querySelector("[type=submit]");
    const label = button.textContent;
    button.disabled = true;
    button.textContent = busyLabel;
    form.setAttribute("aria-busy", "true");
    try {
      await work(values(form), event);
    } finally {
      running = false;
      button.disabled = false;
      button.textContent = label;
      form.removeAttribute("aria-busy");
    }
  });
}
