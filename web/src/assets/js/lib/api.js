// The portal's public API, same origin (/v1/...): JSON in, JSON or a file out, errors as problem+json (RFC 9457)
// turned into ApiProblem with the API's Vietnamese detail and field errors. No cookies are sent or needed.

const TIMEOUT_MS = 20000;
const NETWORK_DETAIL = "Không kết nối được với Cổng Dịch vụ công. Vui lòng kiểm tra kết nối mạng và thử lại.";
const UNKNOWN_DETAIL = "Hệ thống đang bận hoặc gặp sự cố. Vui lòng thử lại sau ít phút.";

export class ApiProblem extends Error {
  constructor({ status = 0, code = "NETWORK_ERROR", title = "", detail = NETWORK_DETAIL, errors = [], ...extra }) {
    super(detail);
    Object.assign(this, { status, code, title, detail, errors, extra });
  }

  /** Field errors by the request field they name ("dossier_code", "notices.0.total_vnd" -> "notices"). */
  fieldErrors() {
    const out = {};
    for (const e of this.errors || []) {
      const name = String(e.field || "").split(".")[0];
      if (name && !(name in out)) out[name] = e.message;
    }
    return out;
  }
}

async function problemOf(response) {
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) {
    try {
      const body = await response.json();
      if (body && body.detail) return new ApiProblem({ ...body, status: response.status });
    } catch {
      // not JSON after all: fall through to the generic message
    }
  }
  return new ApiProblem({ status: response.status, code: "HTTP_" + response.status, detail: UNKNOWN_DETAIL });
}

/**
 * call("POST", "/v1/lookup", {json: {...}}) -> parsed JSON; {as: "blob"} -> Blob.
 * headers: extra request headers (Idempotency-Key, X-Client-Secret). Throws ApiProblem.
 */
export async function call(method, path, { json, headers = {}, as = "json", timeoutMs = TIMEOUT_MS } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "omit", cache: "no-store",
    signal: controller.signal, referrerPolicy: "no-referrer" };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiProblem({});
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) throw await problemOf(response);
  if (as === "blob") return response.blob();
  return response.status === 204 ? null : response.json();
}
