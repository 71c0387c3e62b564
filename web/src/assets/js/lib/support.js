// Support requests and province onboarding (screen 4): the catalogue of the support-request form, Vietnamese words
// for statuses, the 8-working-hour clock and the self-test verdicts, small table builders, and the attachment hooks.
// Everything here is display: the API decides every right (a province administrator's request to apply or to move a
// status is refused there, whatever a page shows).
import { dateTime } from "./format.js";
import { h } from "./dom.js";
import { authed, roles } from "./session.js";

export const SUPPORT_PAGE = "/can-bo/tinh/ho-tro.html";
export const ONBOARDING_PAGE = "/can-bo/tinh/tich-hop.html";

/** GET as the signed-in staff user (a thin name for the pages). */
export const get = (path) => authed("staff", "GET", path);
export const post = (path, json) => authed("staff", "POST", path, json === undefined ? {} : { json });

/** True when the token names the operator role (menus only). */
export const isOperator = () => roles("staff").includes("operator");

let pendingCatalogue = null;

/** GET /v1/support-catalogue once per page (service groups, request types, statuses, attachment limits). */
export function catalogue() {
  if (!pendingCatalogue) {
    pendingCatalogue = get("/v1/support-catalogue").catch((problem) => {
      pendingCatalogue = null;
      throw problem;
    });
  }
  return pendingCatalogue;
}

/** <option> elements from [value, label] pairs, with an optional first "all" option. */
export function options(pairs, first = null) {
  return [first ? h("option", { value: "" }, first) : null, pairs.map(([v, l]) => h("option", { value: v }, l))];
}

export const PARTY = { requester: "Tỉnh (người yêu cầu)", operator: "Văn phòng Chính phủ (cán bộ xử lý)" };

export const API_TYPES = {
  notice: "API BNDP nhận thông báo thuế đất",
  payment_result: "API BNDP thanh toán thuế đất",
  receipt_file: "API file đính kèm",
};

export const AUDIT_ACTIONS = {
  filed: "Gửi yêu cầu",
  comment_added: "Thêm trao đổi",
  status_changed: "Chuyển trạng thái",
  applied: "Áp dụng cấu hình API",
  attachment_added: "Thêm tệp đính kèm",
};

// Status moves a party may offer (a copy of the API's table, for the form's choices only; the API checks).
const MOVES = {
  operator: {
    new: ["in_progress", "waiting_for_requester", "done", "rejected"],
    in_progress: ["waiting_for_requester", "done", "rejected"],
    waiting_for_requester: ["in_progress", "done", "rejected"],
  },
  requester: {
    new: ["cancelled"],
    in_progress: ["cancelled"],
    waiting_for_requester: ["in_progress", "cancelled"],
  },
};
export const CLOSED = new Set(["done", "cancelled", "rejected"]);
export const NEEDS_REASON = new Set(["rejected", "waiting_for_requester"]);

/** The statuses the caller may move a request in `status` to. */
export function movesFrom(status, operator) {
  return MOVES[operator ? "operator" : "requester"][status] || [];
}

/** The clock in words: the API's sentence, the projected due time, and "overdue" said in words (not colour). */
export function clockWords(sla) {
  const parts = [sla.time_left];
  if (sla.overdue) parts.push("Đã quá thời hạn 8 giờ làm việc");
  if (sla.running && sla.due_at) parts.push(`hạn xử lý dự kiến ${dateTime(sla.due_at)}`);
  if (!sla.running && !sla.overdue && sla.due_at === null) parts.push("đồng hồ không chạy");
  return parts.join("; ") + ".";
}

/** "new" -> a tone for the status badge (the label itself always says the status). */
export function statusTone(status) {
  return { done: "ok", rejected: "bad", cancelled: "bad", waiting_for_requester: "wait" }[status] || "info";
}

export const RUN_STATUS = {
  queued: "Đang chờ chạy",
  running: "Đang chạy",
  passed: "Đạt",
  failed: "Không đạt",
  error: "Lỗi hệ thống, chưa chạy xong",
};
export const STEP_RESULT = { passed: "✓ Đạt", failed: "✗ Không đạt", skipped: "– Bỏ qua" };
export const RUN_TONE = { queued: "wait", running: "wait", passed: "ok", failed: "bad", error: "bad" };

/** A data table inside its scrolling region: heads are [text, numeric?]; rows are arrays of cells. */
export function dataTable(caption, heads, rows) {
  const head = h("tr", {}, heads.map(([t, num]) => h("th", { scope: "col", class: num ? "num" : null }, t)));
  const body = rows.map((cells) => h("tr", {}, cells.map((c, i) => (i === 0
    ? h("th", { scope: "row", class: heads[0][1] ? "num" : null }, c)
    : h("td", { class: heads[i]?.[1] ? "num" : null }, c)))));
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h("table", { class: "data" }, h("caption", {}, caption), h("thead", {}, head), h("tbody", {}, body)));
}

// --- attachments ----------------------------------------------------------------------------------------------------

/**
 * ATTACHMENT UPLOAD HOOK (not wired yet). Takes a File, returns {attachment_id, file_name} to send in
 * `attachments` when filing or commenting. The flow is POST /v1/support-requests/attachments ({file_name,
 * size_bytes}) -> a presigned S3 POST form -> the browser POSTs the file to S3. Today's CSP (connect-src 'self')
 * blocks that POST; the generic mechanism (lib/upload.js with the CSP/CORS change) is being built for the officer
 * desk's ID-card scans. Wire it here, then unhide the `[data-upload-hook]` file inputs of /can-bo/tinh/ho-tro.html
 * (web/src/pages/can-bo/tinh/ho-tro.html): the page already sends whatever this returns.
 */
export const UPLOAD_WIRED = false;
export async function uploadAttachment(file) {
  throw new Error(`attachment upload is not wired yet (${file?.name || "file"})`);
}

/** GET the short-lived download link of one attachment of a request. */
export function attachmentLink(requestId, attachmentId) {
  return get(`/v1/support-requests/${encodeURIComponent(requestId)}/attachments/${encodeURIComponent(attachmentId)}`);
}

/** "1,5 MB" / "12 KB" for an attachment's size. */
export function size(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1).replace(".", ",")} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}
