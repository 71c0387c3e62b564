// Support requests and province onboarding (screen 4): the catalogue of the support-request form, Vietnamese words
// for statuses, the 8-working-hour clock and the self-test verdicts, small table builders, and attachments (checked
// here first, then uploaded straight to S3 through lib/upload.js).
// Everything here is display: the API decides every right (a province administrator's request to apply or to move a
// status is refused there, whatever a page shows).
import { ApiProblem } from "./api.js";
import { dateTime } from "./format.js";
import { h } from "./dom.js";
import { authed, roles } from "./session.js";
import { fileSize, uploadPresigned } from "./upload.js";

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

// The types the API accepts (a copy of chalicelib/onboarding/domain/attachments.py EXTENSIONS, to refuse a wrong
// file before any request; the API checks every name and content itself). The limits come from the catalogue.
export const ATTACHMENT_EXTENSIONS = ["jpg", "jpeg", "png", "pdf", "doc", "docx", "xls", "xlsx", "txt", "mp3", "mp4"];
export const ATTACHMENT_TYPES_TEXT = "jpg, png, pdf, doc, docx, xls, xlsx, txt, mp3, mp4";

/** A limit in MB as the API says it ("10 MB", "2,5 MB"). */
function megabytes(bytes) {
  const mb = bytes / 1024 / 1024;
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1).replace(".", ",")} MB`;
}

/** "Tối đa 5 tệp, mỗi tệp không quá 10 MB, tổng không quá 20 MB; chấp nhận jpg, png, …" from the catalogue. */
export function attachmentHint(limits) {
  return `Không bắt buộc. Tối đa ${limits.max_files} tệp, mỗi tệp không quá ${megabytes(limits.max_file_bytes)}, `
    + `tổng không quá ${megabytes(limits.max_total_bytes)}; chấp nhận tệp ${ATTACHMENT_TYPES_TEXT}.`;
}

/** Why one file cannot be attached (its type by extension, empty, too large), or "". */
export function fileRefusal(file, limits) {
  const dot = file.name.lastIndexOf(".");
  const ext = dot > 0 ? file.name.slice(dot + 1).toLowerCase() : "";
  if (!ATTACHMENT_EXTENSIONS.includes(ext)) {
    return `Tệp “${file.name}” không được chấp nhận: chỉ chấp nhận tệp ${ATTACHMENT_TYPES_TEXT}.`;
  }
  if (!file.size) return `Tệp “${file.name}” không có nội dung. Vui lòng chọn lại tệp.`;
  if (file.size > limits.max_file_bytes) {
    return `Tệp “${file.name}” (${fileSize(file.size)}) vượt quá giới hạn ${megabytes(limits.max_file_bytes)} mỗi tệp.`;
  }
  return "";
}

/**
 * The first reason the chosen files cannot be attached (a Vietnamese sentence), or "" when they may be sent: each
 * file's own (fileRefusal), then the count and total size (with `existing` = the request's attachments when
 * commenting, which count toward the same caps).
 */
export function attachmentRefusal(files, limits, existing = []) {
  for (const file of files) {
    const refusal = fileRefusal(file, limits);
    if (refusal) return refusal;
  }
  if (existing.length + files.length > limits.max_files) {
    return existing.length
      ? `Yêu cầu đã có ${existing.length} tệp; mỗi yêu cầu tối đa ${limits.max_files} tệp đính kèm.`
      : `Mỗi yêu cầu tối đa ${limits.max_files} tệp đính kèm; đã chọn ${files.length} tệp.`;
  }
  const total = [...existing.map((a) => a.size_bytes), ...[...files].map((f) => f.size)].reduce((a, b) => a + b, 0);
  if (total > limits.max_total_bytes) {
    return `Tổng dung lượng tệp đính kèm tối đa ${megabytes(limits.max_total_bytes)} mỗi yêu cầu (đang là ${fileSize(total)}).`;
  }
  return "";
}

/**
 * Upload one attachment: POST /v1/support-requests/attachments ({file_name, size_bytes}) answers the attachment id
 * and a presigned S3 POST; lib/upload.js sends the file straight to S3 (never through the API). Resolves to
 * {attachment_id, file_name}, what a request or comment sends in `attachments` (its content is checked then);
 * throws ApiProblem with a Vietnamese detail, as a field error of `field` (the refusals of file_name/size_bytes too).
 */
export async function uploadAttachment(file, { field = "attachments" } = {}) {
  let slot;
  try {
    slot = await post("/v1/support-requests/attachments", { file_name: file.name, size_bytes: file.size || null });
  } catch (problem) {
    if (!(problem instanceof ApiProblem) || !problem.errors?.length) throw problem;
    throw new ApiProblem({ ...problem, errors: problem.errors.map((e) => ({ ...e, field })) });
  }
  await uploadPresigned(slot.upload, file, { maxBytes: slot.max_bytes, field });
  return { attachment_id: slot.attachment_id, file_name: file.name };
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
