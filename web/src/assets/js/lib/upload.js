// Browser uploads straight to the documents bucket (S3) through a presigned POST the API hands out: the ID-card scan
// (POST /v1/officers/citizen-accounts/scans) and support-request attachments. The API answers
// {url, fields, method: "POST", file_field}; the page sends the fields, then the file (last: S3 ignores what follows
// it) as one multipart/form-data request. That is a CORS "simple" request (no preflight); the site's CSP allows
// exactly the bucket's endpoint in connect-src and the bucket's CORS rule lets only the site's origin read the
// answer, so a refusal (too large, expired policy) is known here, before the next step. The API still checks the
// stored bytes when the upload is used (the browser's word is never taken for it). See web/README.md "Uploads".
import { ApiProblem } from "./api.js";

const TIMEOUT_MS = 120000; // 5 MB on a slow 3G link
const MB = 1024 * 1024;

function refused(field, code, detail) {
  return new ApiProblem({ status: 0, code, detail, errors: field ? [{ field, code, message: detail }] : [] });
}

/** "1,2 MB" / "350 KB": a file size for people (Vietnamese decimal comma). */
export function fileSize(bytes) {
  if (bytes >= MB) return `${(bytes / MB).toFixed(1).replace(".", ",")} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

function s3Code(text) {
  // S3 answers an XML <Error><Code>...</Code>; read the code without parsing markup into the page.
  const match = /<Code>([A-Za-z]+)<\/Code>/.exec(text || "");
  return match ? match[1] : "";
}

/**
 * uploadPresigned(upload, file, {maxBytes, field}) -> resolves when S3 has stored the file; throws ApiProblem with
 * a Vietnamese detail (as a field error of `field`, the form field the file was chosen in, when given).
 * `upload` is the API's presigned POST ({url, fields, method, file_field}); `maxBytes` the API's limit.
 */
export async function uploadPresigned(upload, file, { maxBytes = 0, field = "", timeoutMs = TIMEOUT_MS } = {}) {
  if (maxBytes && file.size > maxBytes) {
    throw refused(field, "FILE_TOO_LARGE", `Tệp ${fileSize(file.size)} vượt quá giới hạn ${fileSize(maxBytes)}. Vui lòng chọn tệp nhỏ hơn.`);
  }
  if (!file.size) throw refused(field, "FILE_EMPTY", "Tệp đã chọn không có nội dung. Vui lòng chọn lại tệp.");
  const body = new FormData();
  for (const [name, value] of Object.entries(upload.fields || {})) body.append(name, value);
  body.append(upload.file_field || "file", file, file.name);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(upload.url, { method: upload.method || "POST", body, mode: "cors", credentials: "omit",
      cache: "no-store", referrerPolicy: "no-referrer", signal: controller.signal });
  } catch {
    throw refused(field, "UPLOAD_FAILED", "Không tải được tệp lên kho lưu trữ. Vui lòng kiểm tra kết nối mạng và thử lại.");
  } finally {
    clearTimeout(timer);
  }
  if (response.ok) return;
  const code = s3Code(await response.text().catch(() => ""));
  if (code === "EntityTooLarge") {
    throw refused(field, "FILE_TOO_LARGE", `Tệp vượt quá giới hạn${maxBytes ? ` ${fileSize(maxBytes)}` : ""}. Vui lòng chọn tệp nhỏ hơn.`);
  }
  if (code === "AccessDenied" || code === "ExpiredToken" || code === "RequestTimeout") {
    throw refused(field, "UPLOAD_EXPIRED", "Phiên tải tệp đã hết hạn. Vui lòng tải tệp lên lại.");
  }
  throw refused(field, "UPLOAD_FAILED", "Kho lưu trữ không nhận tệp. Vui lòng thử lại sau ít phút.");
}
