// The collecting banks (GET /v1/banks, cacheable for 5 minutes): fetched once per page, shared by every caller.
import { call } from "./api.js";

let pending = null;

/** The banks in the order the portal lists them; a failed fetch is retried by the next caller. */
export function banks() {
  if (!pending) pending = call("GET", "/v1/banks").then((answer) => answer.banks).catch((problem) => {
    pending = null;
    throw problem;
  });
  return pending;
}

/** "Vietcombank" for "VCB" (the code itself when the list is unavailable). */
export async function bankName(code) {
  try {
    return (await banks()).find((b) => b.code === code)?.short_name || code;
  } catch {
    return code;
  }
}
