// The staff home: the functions of the signed-in user's roles (read from the token for the menu only; each screen's
// API calls are what the server allows or refuses), and sign-out everywhere.
import { $, $$, ready } from "../lib/dom.js";
import { requireSession, roles, session, signOut } from "../lib/session.js";

const ROLE_LABELS = { officer: "cán bộ một cửa", province_admin: "quản trị tỉnh", operator: "quản trị hệ thống" };

if (requireSession("staff")) {
  const mine = roles("staff");
  let shown = 0;
  for (const card of $$("#chuc-nang [data-role]")) {
    card.hidden = !card.dataset.role.split(" ").some((r) => mine.includes(r));
    if (!card.hidden) shown += 1;
  }
  $("#khong-vai-tro").hidden = shown > 0;
  const named = mine.filter((r) => r in ROLE_LABELS).map((r) => ROLE_LABELS[r]);
  $("#xin-chao").textContent = `Đăng nhập với tên ${session("staff").username || ""}` +
    (named.length ? `, vai trò: ${named.join(", ")}.` : ".");
  const out = $("#dang-xuat");
  out.addEventListener("click", () => signOut("staff"));
  ready(out);
}
