// Integration progress (Quy trình kiểm thử, xác nhận kết nối, tích hợp): operators see every province's step
// (GET /v1/onboarding/provinces) and open one (?tinh=<agency code>); a province administrator lands on their own.
// One province: its six steps with evidence or an operator's override (POST .../override, operators, with a reason
// and a confirmation), and its self-test runs (GET/POST /v1/provinces/{agency}/selftests; ?lan=<run id> opens one,
// polled while queued or running; evidence download links from GET /v1/selftests/{run}/evidence).
import { $, facts, fill, focusOn, h, ready } from "../lib/dom.js";
import { clearErrors, fieldError, onSubmit, showProblem } from "../lib/forms.js";
import { dateTime } from "../lib/format.js";
import { requireSession } from "../lib/session.js";
import {
  ONBOARDING_PAGE, RUN_STATUS, RUN_TONE, STEP_RESULT, SUPPORT_PAGE, dataTable, get, isOperator, options, post,
} from "../lib/support.js";

const query = new URLSearchParams(location.search);
const POLL_MS = 1000;
const WHO = { province: "Tỉnh thực hiện", operator: "Văn phòng Chính phủ thực hiện" };
const EVIDENCE_KEYS = { api_type: "Loại API", request_id: "Mã yêu cầu", run_id: "Lượt tự kiểm thử", by: "Người thực hiện",
  via: "Cách ghi nhận", payment_id: "Mã giao dịch", receipt_id: "Mã biên lai", status: "Mã trạng thái" };

function pageError(problem) {
  const box = $("#loi-trang");
  fill(box, h("p", {}, problem.detail));
  box.hidden = false;
  focusOn(box);
}

const provinceLink = (agency, run) => `${ONBOARDING_PAGE}?tinh=${encodeURIComponent(agency)}` +
  (run ? `&lan=${encodeURIComponent(run)}` : "");

function stepText(p) {
  if (p.live) return "Đã vận hành chính thức";
  const current = p.steps.find((s) => s.step === p.step);
  return current ? `Bước ${p.step}: ${current.name}` : "—";
}

// --- every province -------------------------------------------------------------------------------------------------

function dashboard(d) {
  $("#tong-quan").hidden = false;
  facts($("#so-lieu"), [
    ["Số tỉnh", String(d.total)],
    ["Đã vận hành chính thức", String(d.live_count)],
    ...Object.entries(d.by_step).map(([n, count]) => [`Đang ở bước ${n}`, String(count)]),
  ]);
  fill($("#bang-tinh"), dataTable("Tiến độ tích hợp của từng tỉnh", [["Tỉnh"], ["Bước hiện tại"],
    ["Số bước đã hoàn thành", true], ["Hoàn thành bước gần nhất"], ["Thao tác"]], d.provinces.map((p) => [
    p.province_name, stepText(p), `${p.completed_steps}/6`, p.since ? dateTime(p.since) : "—",
    h("a", { class: "support-link", href: provinceLink(p.agency_code), "aria-label": `Xem chi tiết: ${p.province_name}` }, "Xem chi tiết"),
  ])));
}

// --- one province ---------------------------------------------------------------------------------------------------

function evidenceText(e) {
  const bits = Object.entries(e).filter(([k, v]) => k !== "at" && v !== null && typeof v !== "object")
    .map(([k, v]) => `${EVIDENCE_KEYS[k] || k}: ${v}`);
  return `${e.at ? dateTime(e.at) : ""}${bits.length ? ` — ${bits.join("; ")}` : ""}`;
}

function renderProvince(p) {
  document.title = `${p.province_name} – Tiến độ tích hợp – Cổng Dịch vụ công quốc gia`;
  $("#tieu-de-tinh").textContent = `${p.province_name} (${p.agency_code})`;
  const box = $("#trang-thai-tinh");
  box.dataset.tone = p.live ? "ok" : "wait";
  fill(box, h("p", { class: "status__title" }, p.live ? "✓ Đã vận hành chính thức" : stepText(p)),
    h("p", {}, `Đã hoàn thành ${p.completed_steps}/6 bước` + (p.since ? `, bước gần nhất lúc ${dateTime(p.since)}.` : ".")));
  fill($("#cac-buoc"), p.steps.map((s) => {
    const state = s.passed ? "done" : s.step === p.step ? "current" : "todo";
    const word = { done: `✓ Đã hoàn thành${s.passed_at ? ` lúc ${dateTime(s.passed_at)}` : ""}`,
      current: "► Đang thực hiện", todo: "Chưa đến" }[state];
    return h("li", { class: "support-stepitem", dataset: { state }, "aria-current": state === "current" ? "step" : null },
      h("p", { class: "support-stepitem__name" }, `Bước ${s.step}. ${s.name}`),
      h("p", {}, `${word}. ${WHO[s.who] || ""}. Hoàn thành khi: ${s.done_when}.`),
      s.override ? h("p", {}, `Xác nhận thay bởi ${s.override.by} lúc ${dateTime(s.override.at)}. Lý do: ${s.override.reason}`) : null,
      s.evidence.length ? h("ul", { class: "support-evidence", "aria-label": `Minh chứng bước ${s.step}` },
        s.evidence.map((e) => h("li", {}, evidenceText(e)))) : null);
  }));
  const open = p.steps.filter((s) => !s.passed);
  $("#xac-nhan-thay").hidden = !isOperator() || !open.length;
  fill($("#step"), options(open.map((s) => [String(s.step), `Bước ${s.step}. ${s.name}`])));
}

function overrideForm(agency, show) {
  const form = $("#form-xac-nhan-thay");
  onSubmit(form, "Đang xác nhận…", async (v) => {
    clearErrors(form);
    if (!v.confirm) {
      fieldError(form, "confirm", "Vui lòng đánh dấu xác nhận trước khi cho các bước hoàn thành.")?.focus();
      return;
    }
    try {
      show(await post(`/v1/onboarding/provinces/${encodeURIComponent(agency)}/override`,
        { step: Number(v.step), reason: v.reason }));
      form.reset();
      focusOn($("#trang-thai-tinh"));
    } catch (problem) {
      showProblem(form, problem);
    }
  });
}

// --- self-tests -----------------------------------------------------------------------------------------------------

function runsTable(agency, runs) {
  fill($("#ds-luot"), runs.length ? dataTable("Các lượt tự kiểm thử (mới nhất trước)", [["Mã lượt"], ["Thời gian"],
    ["Người chạy"], ["Trạng thái"], ["Thao tác"]], runs.map((r) => [r.run_id, dateTime(r.created_at), r.requested_by,
    RUN_STATUS[r.status] || r.status, h("a", { class: "support-link", href: provinceLink(agency, r.run_id), "aria-label": `Xem lượt ${r.run_id}` },
      "Xem kết quả")])) : h("p", {}, "Tỉnh chưa có lượt tự kiểm thử nào."));
}

function renderRun(run) {
  const finished = !["queued", "running"].includes(run.status);
  const links = h("div", { class: "support-evidence-links" });
  const parts = [
    h("h4", {}, `Lượt tự kiểm thử ${run.run_id}`),
    h("div", { class: "status", dataset: { tone: RUN_TONE[run.status] || "wait" } },
      h("p", { class: "status__title", role: "status" }, `${RUN_STATUS[run.status] || run.status}` +
        (run.verdict ? ` — Kết luận: ${run.verdict}` : "")),
      h("p", {}, finished ? `Kết thúc lúc ${dateTime(run.finished_at)}.` : "Trang tự cập nhật đến khi lượt chạy xong."),
      run.error ? h("p", {}, run.error) : null),
    h("dl", { class: "facts" }, [["Bắt đầu", run.started_at && dateTime(run.started_at)], ["Hồ sơ kiểm thử", run.dossier_code],
      ["Biên lai kiểm thử", run.receipt_number && `${run.receipt_series || ""} số ${run.receipt_number}`],
      ["Người chạy", run.requested_by]].filter(([, v]) => v).map(([t, v]) => [h("dt", {}, t), h("dd", {}, v)])),
  ];
  if (run.steps.length) {
    parts.push(dataTable("Các bước kiểm thử", [["Bước"], ["Loại API"], ["Kết quả"], ["Mã trạng thái", true],
      ["Thời gian phản hồi", true], ["Cần khắc phục"]], run.steps.map((s) => [s.name, s.api_type || "—",
      STEP_RESULT[s.result] || s.result, s.status === null || s.status === undefined ? "—" : String(s.status),
      typeof s.latency_ms === "number" ? `${Math.round(s.latency_ms)} ms` : "—", s.fix || s.note || "—"])));
  }
  if (finished && run.evidence) {
    const button = h("button", { class: "btn btn--secondary", type: "button" }, "Lấy liên kết tải báo cáo minh chứng");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const got = await get(`/v1/selftests/${encodeURIComponent(run.run_id)}/evidence`);
        const pdf = h("a", { href: got.pdf.url, rel: "noopener" }, "Tải báo cáo minh chứng (PDF)");
        fill(links, h("ul", {}, h("li", {}, pdf), h("li", {}, h("a", { href: got.json.url, rel: "noopener" },
          "Tải dữ liệu minh chứng (JSON)"))), h("p", {}, `Liên kết có hiệu lực đến ${dateTime(got.expires_at)}.`));
        button.hidden = true;
        pdf.focus();
      } catch (problem) {
        fill(links, h("p", { class: "field__error" }, problem.detail));
        button.disabled = false;
      }
    });
    parts.push(h("div", { class: "actions" }, button), links);
  }
  if (run.status === "passed" && !isOperator()) {
    parts.push(h("p", {}, h("a", { class: "btn", href: `${SUPPORT_PAGE}?tao=1&loai=integration_confirmation&lan=${encodeURIComponent(run.run_id)}` },
      "Gửi yêu cầu xác nhận tích hợp kèm lượt kiểm thử này")));
  }
  fill($("#luot-chay"), h("div", { class: "step" }, parts));
}

function selfTests(agency) {
  let timer = null;
  const list = async () => runsTable(agency, (await get(`/v1/provinces/${encodeURIComponent(agency)}/selftests`)).runs);
  const follow = async (runId) => {
    clearTimeout(timer);
    try {
      const run = await get(`/v1/selftests/${encodeURIComponent(runId)}`);
      renderRun(run);
      if (["queued", "running"].includes(run.status)) timer = setTimeout(() => follow(runId), POLL_MS);
      else await list();
    } catch (problem) {
      fill($("#luot-chay"), h("p", { class: "alert alert--error" }, problem.detail));
    }
  };
  const form = $("#form-chay");
  onSubmit(form, "Đang bắt đầu…", async () => {
    clearErrors(form);
    try {
      const run = await post(`/v1/provinces/${encodeURIComponent(agency)}/selftests`);
      history.replaceState(null, "", provinceLink(agency, run.run_id));
      await follow(run.run_id);
      await list();
    } catch (problem) {
      showProblem(form, problem);
    }
  });
  return { list, follow };
}

async function province(agency, operator) {
  $("#tinh").hidden = false;
  $("#ve-tong-quan").hidden = !operator;
  let progress;
  try {
    progress = await get(`/v1/onboarding/provinces/${encodeURIComponent(agency)}`);
  } catch (problem) {
    $("#tinh").hidden = true;
    pageError(problem);
    return;
  }
  renderProvince(progress);
  overrideForm(agency, renderProvince);
  const tests = selfTests(agency);
  try {
    await tests.list();
  } catch (problem) {
    fill($("#ds-luot"), h("p", { class: "alert alert--error" }, problem.detail));
  }
  if (query.get("lan")) await tests.follow(query.get("lan"));
}

async function start() {
  const operator = isOperator();
  let agency = query.get("tinh");
  if (!agency) {
    let d;
    try {
      d = await get("/v1/onboarding/provinces");
    } catch (problem) {
      pageError(problem);
      return;
    }
    if (operator || d.provinces.length !== 1) dashboard(d);
    else agency = d.provinces[0].agency_code; // a province administrator: their own province
  }
  if (agency) await province(agency, operator);
  ready(...document.querySelectorAll("button[disabled]"));
}

if (requireSession("staff")) start();
