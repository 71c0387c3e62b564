// DOM helpers shared by every screen. Elements are built from text nodes only (never innerHTML), so nothing an API
// answers can become markup: the strict Content-Security-Policy and this rule together keep injected script out.

/** h("p", {class: "x", id: "y"}, "text", child...) -> element. null/false children and attributes are skipped. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** Replace an element's content with the given children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Move keyboard and screen-reader focus to a heading or region (made focusable without entering the tab order). */
export function focusOn(el) {
  if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
  el.focus({ preventScroll: false });
  el.scrollIntoView({ block: "start" });
}

/** A definition list's rows from [term, value] pairs; rows whose value is empty are left out. */
export function facts(dl, rows) {
  fill(dl, rows.filter(([, v]) => v !== null && v !== undefined && v !== "").map(([t, v]) => [h("dt", {}, t), h("dd", {}, v)]));
  return dl;
}

/** Mark the page as driven by script (CSS shows script-only controls) and enable what waited for it. */
export function ready(...buttons) {
  document.documentElement.classList.add("js");
  for (const b of buttons) b.disabled = false;
  performance.mark("lfo:usable"); // what bench/web.py measures as "time to usable"
}
