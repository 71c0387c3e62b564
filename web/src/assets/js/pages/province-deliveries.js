// Delivery health of a province: counts per state (GET .../deliveries), one state's deliveries in pages
// (?state=&kind=&limit=&cursor=), and the re-drive of dead letters (POST .../deliveries/redrive), which only an
// operator may do: a province administrator sees why, and the API's refusal if the button is forced.
import { $, fill, focusOn, h, ready } from "../lib/dom.js";
import { clearErrors, onSubmit, showProblem, values } from "../lib/forms.js";
import { dateTime, vnd } from "../lib/format.js";
import { chooseProvince, dataTable, enc, hideRefusal, isOperator, showRefusal, staff } from "../lib/province.js";
import { requireSession } from "../lib/session.js";

const STATES = [
  { code: "pending", label: "Đang chờ gửi", icon: "…" },
  { code: "delivered", label: "Đã gửi", icon: "✓" },
  { code: "failing", label: "Đang lỗi, đang gửi lại", icon: "!" },
  { code: "dead", label: "Không gửi được", icon: "✗" },
];
const KINDS = { receipt: "Biên lai", notice: "Thông báo thuế" };

const refusal = $("#tu-choi");
const content = $("#bang-dieu-khien");
const filters = $("#loc");
const page = { province: null, stats: null, cursors: [null], index: 0, next: null };

function renderCounts(stats) {
  fill($("#so-luong"), STATES.map((s) => h("li", { class: "province-count", dataset: { state: s.code } },
    h("span", { class: "province-count__icon", "aria-hidden": "true" }, s.icon),
    h("span", { class: "province-count__label" }, s.label),
    h("strong", { class: "province-count__value", id: `so-${s.code}` }, String(stats[s.code])))));
  $("#loi-tu-luc").textContent = stats.failing_since
    ? `Có biên lai đang lỗi hoặc không gửi được từ ${dateTime(stats.failing_since)}.`
    : "Không có biên lai nào đang lỗi.";
  const redrive = $("#gui-lai");
  if (isOperator()) redrive.disabled = stats.dead === 0;
}

function when(item) {
  if (item.state === "DELIVERED") return dateTime(item.delivered_at || item.since);
  return dateTime(item.since);
}

function renderItems(answer, state) {
  const label = STATES.find((s) => s.code === state).label;
  const items = answer.items || [];
  $("#danh-sach-thong-bao").textContent = items.length ? "" : `Không có dữ liệu nào ở trạng thái "${label}".`;
  if (!items.length) {
    $("#danh-sach").replaceChildren();
  } else {
    fill($("#danh-sach"), dataTable(`${label}: trang ${page.index + 1}, mới nhất trước`,
      ["Mã", "Loại", "Hồ sơ, thông báo", "Số tiền", "Thời điểm", "Số lần gửi", "Lỗi gần nhất", "Lần gửi tiếp"],
      items.map((i) => [i.subject_id, KINDS[i.kind] || i.kind,
        [i.dossier_code, i.notice_number].filter(Boolean).join(" · "),
        i.amount_vnd != null ? vnd(i.amount_vnd) : "—", when(i), String(i.attempts), i.last_error || "—",
        i.next_attempt_at ? dateTime(i.next_attempt_at) : "—"]), { id: "bang-gui-nhan" }));
  }
  page.next = answer.next_cursor || null;
  $("#trang-sau").hidden = !page.next;
  $("#trang-dau").hidden = page.index === 0;
  $("#trang-so").textContent = items.length ? `Trang ${page.index + 1}` : "";
}

async function loadPage() {
  const q = values(filters);
  const params = new URLSearchParams({ state: q.state, limit: q.limit });
  if (q.kind) params.set("kind", q.kind);
  const cursor = page.cursors[page.index];
  if (cursor) params.set("cursor", cursor);
  clearErrors(filters);
  try {
    const answer = await staff("GET", `/v1/provinces/${enc(page.province.agency_code)}/deliveries?${params}`);
    page.stats = answer;
    renderCounts(answer);
    renderItems(answer, q.state);
  } catch (problem) {
    if (problem.status === 403) showRefusal(refusal, problem, content);
    else showProblem(filters, problem);
  }
}

async function show(province) {
  page.province = province;
  page.cursors = [null];
  page.index = 0;
  $("#gui-lai-ket-qua").textContent = "";
  $("#gui-lai-loi").hidden = true;
  try {
    const stats = await staff("GET", `/v1/provinces/${enc(province.agency_code)}/deliveries`);
    hideRefusal(refusal, content);
    renderCounts(stats);
  } catch (problem) {
    showRefusal(refusal, problem, content);
    return;
  }
  await loadPage();
}

onSubmit(filters, "Đang tải…", async () => {
  page.cursors = [null];
  page.index = 0;
  await loadPage();
  focusOn($("#tieu-de-danh-sach"));
});

$("#trang-sau").addEventListener("click", async () => {
  page.cursors[page.index + 1] = page.next;
  page.index += 1;
  await loadPage();
  focusOn($("#tieu-de-danh-sach"));
});

$("#trang-dau").addEventListener("click", async () => {
  page.index = 0;
  await loadPage();
  focusOn($("#tieu-de-danh-sach"));
});

// -- re-drive (operator) ----------------------------------------------------------------------------------------

$("#gui-lai").addEventListener("click", () => {
  const dead = page.stats?.dead ?? 0;
  $("#xac-nhan-gui-lai-cau-hoi").textContent =
    `Gửi lại ${dead} biên lai, thông báo không gửi được của ${page.province.province_name}? Chỉ nên gửi lại khi `
    + "phần mềm một cửa của tỉnh đã hoạt động trở lại.";
  $("#xac-nhan-gui-lai").hidden = false;
  focusOn($("#xac-nhan-gui-lai"));
});

$("#gui-lai-huy").addEventListener("click", () => {
  $("#xac-nhan-gui-lai").hidden = true;
  focusOn($("#tieu-de-gui-lai"));
});

$("#gui-lai-dong-y").addEventListener("click", async (event) => {
  const button = event.target;
  button.disabled = true;
  const error = $("#gui-lai-loi");
  error.hidden = true;
  try {
    const answer = await staff("POST", `/v1/provinces/${enc(page.province.agency_code)}/deliveries/redrive`);
    $("#gui-lai-ket-qua").textContent = `Đã đưa ${answer.redriven} biên lai, thông báo vào hàng đợi gửi lại.`;
    $("#xac-nhan-gui-lai").hidden = true;
    await loadPage();
    focusOn($("#tieu-de-gui-lai"));
  } catch (problem) {
    $("#xac-nhan-gui-lai").hidden = true;
    fill(error, h("p", {}, h("strong", {}, problem.title || "Không thực hiện được")), h("p", {}, problem.detail));
    error.hidden = false;
    focusOn(error);
  } finally {
    button.disabled = false;
  }
});

if (requireSession("staff")) {
  $("#chi-quan-tri").hidden = isOperator();
  const failed = await chooseProvince($("#chon-tinh"), show);
  if (failed) showRefusal(refusal, failed, content);
  ready($("button[type=submit]", $("#chon-tinh")), $("button[type=submit]", filters));
}
