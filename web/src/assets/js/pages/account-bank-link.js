// Bank-account link (M7). GET /v1/citizens/me/bank-links shows the current link (unlink: DELETE). A new link:
// POST /v1/citizens/me/bank-links checks the four conditions in order (tax code; the internet-banking account
// exists; same ID number; the portal phone is the bank's OTP phone) and answers the first that fails with its own
// code, or sends the OTP to the common phone. The page shows each condition with its own result: those before the
// failing one passed, the failing one says why (and where to fix it), the later ones were not checked. Then the
// OTP: POST /v1/otp/verify (purpose bank_link, the subject the start answered) and
// POST /v1/citizens/me/bank-links/confirm with the verification token.
import { banks, bankName } from "../lib/banks.js";
import { $, facts, fill, focusOn, h, ready } from "../lib/dom.js";
import { dateTime } from "../lib/format.js";
import { clearErrors, fieldError, onSubmit, showProblem } from "../lib/forms.js";
import { authed, requireSession } from "../lib/session.js";

const CONDITIONS = [
  { code: "TAX_CODE_REQUIRED", text: "Tài khoản Cổng Dịch vụ công đã có mã số thuế",
    fix: ["/tai-khoan/index.html", "Cập nhật mã số thuế"] },
  { code: "BANK_ACCOUNT_NOT_FOUND", text: "Tài khoản Internet Banking tồn tại tại ngân hàng đã chọn" },
  { code: "BANK_ID_NUMBER_MISMATCH", text: "Số định danh (CCCD) tại ngân hàng trùng với số định danh của tài khoản Cổng" },
  { code: "BANK_PHONE_MISMATCH", text: "Số điện thoại nhận OTP của ngân hàng trùng với số điện thoại của tài khoản Cổng",
    fix: ["/tai-khoan/doi-so-dien-thoai.html", "Đổi số điện thoại trên Cổng"] },
];
const RESULT = { pass: ["✓", "Đạt"], fail: ["✗", "Không đạt"], skip: ["–", "Chưa kiểm tra"] };
const OTP_FIELD = { OTP_INVALID: "code", OTP_EXPIRED: "code", OTP_USED: "code", OTP_LOCKED: "code" };
const linkForm = $("#form-lien-ket");
const otpForm = $("#form-otp");
const sections = { linked: $("#da-lien-ket"), start: $("#lien-ket-moi") };
let phone = null; // the account phone: where the code goes, and what it is verified with
let pending = null; // {bank_code, banking_username, subject} of the link waiting for its OTP

/** Each condition's result when the check stopped at `failed` (-1: all four hold); `problem` says why. */
function conditions(failed, problem) {
  fill($("#dieu-kien"), CONDITIONS.map((c, i) => {
    const result = failed < 0 || i < failed ? "pass" : i === failed ? "fail" : "skip";
    const [mark, word] = RESULT[result];
    return h("li", { class: "condition", "data-result": result, "data-code": c.code },
      h("p", { class: "condition__head" }, h("span", { class: "condition__mark", "aria-hidden": "true" }, mark),
        h("span", {}, c.text, ": ", h("strong", {}, word))),
      result === "fail" ? h("p", { class: "condition__why" }, problem.detail) : null,
      result === "fail" && c.fix ? h("p", {}, h("a", { href: c.fix[0] }, c.fix[1])) : null,
      result === "skip" ? h("p", { class: "muted" }, "Kiểm tra sau khi điều kiện phía trên đạt.") : null);
  }));
  $("#dieu-kien-khung").hidden = false;
}

/** A refusal naming one of the four conditions is shown in the list; true when it was one. */
function conditionRefused(problem) {
  const failed = CONDITIONS.findIndex((c) => c.code === problem.code);
  if (failed < 0) return false;
  pending = null;
  otpForm.hidden = true;
  conditions(failed, problem);
  focusOn($("#tieu-de-dieu-kien"));
  return true;
}

async function showLinked(link, fresh) {
  facts($("#lien-ket"), [["Ngân hàng", await bankName(link.bank_code)],
    ["Tên đăng nhập Internet Banking", link.banking_username_masked], ["Số tài khoản", link.account_number_masked],
    ["Chủ tài khoản", link.holder_name], ["Thời gian liên kết", dateTime(link.linked_at)]]);
  $("#vua-lien-ket").hidden = !fresh;
  $("#xac-nhan-huy").hidden = true;
  $("#loi-huy").hidden = true;
  sections.start.hidden = true;
  sections.linked.hidden = false;
  if (fresh) focusOn($("#tieu-de-da-lien-ket"));
}

function showStart(unlinked) {
  pending = null;
  linkForm.reset();
  clearErrors(linkForm);
  otpForm.hidden = true;
  $("#dieu-kien-khung").hidden = true;
  $("#vua-huy").hidden = !unlinked;
  sections.linked.hidden = true;
  sections.start.hidden = false;
  if (unlinked) focusOn($("#tieu-de-lien-ket-moi"));
}

function otpSent(sent) {
  const minutes = Math.max(1, Math.round(sent.expires_in_s / 60));
  $("#da-gui-otp").textContent = `Mã OTP đã được gửi đến số điện thoại ${sent.phone_masked}. Mã có hiệu lực trong ` +
    `${minutes} phút.`;
}

async function start(fields) {
  const request = { bank_code: fields.bank_code, banking_username: fields.banking_username };
  return authed("citizen", "POST", "/v1/citizens/me/bank-links", { json: request }).then((answer) => {
    pending = { ...request, subject: answer.otp.subject };
    return answer;
  });
}

onSubmit(linkForm, "Đang kiểm tra…", async (fields) => {
  clearErrors(linkForm);
  if (!fields.bank_code) return fieldError(linkForm, "bank_code", "Vui lòng chọn ngân hàng.")?.focus();
  if (!fields.banking_username) {
    return fieldError(linkForm, "banking_username", "Vui lòng nhập tên đăng nhập Internet Banking.")?.focus();
  }
  let answer;
  try {
    answer = await start(fields);
  } catch (problem) {
    if (conditionRefused(problem)) return;
    if (problem.code === "BANK_LINK_EXISTS") return load();
    $("#dieu-kien-khung").hidden = true;
    otpForm.hidden = true;
    showProblem(linkForm, problem, { BANK_LINK_NOT_SUPPORTED: "bank_code" });
    return;
  }
  conditions(-1);
  otpSent(answer.otp);
  otpForm.reset();
  clearErrors(otpForm);
  otpForm.hidden = false;
  focusOn($("#tieu-de-dieu-kien"));
});

onSubmit(otpForm, "Đang xác nhận…", async ({ code }) => {
  clearErrors(otpForm);
  if (!/^\d{6}$/.test(code || "")) return fieldError(otpForm, "code", "Vui lòng nhập mã OTP gồm 6 chữ số.")?.focus();
  let link;
  try {
    const verified = await authed("citizen", "POST", "/v1/otp/verify",
      { json: { phone, purpose: "bank_link", subject: pending.subject, code } });
    link = await authed("citizen", "POST", "/v1/citizens/me/bank-links/confirm", { json: {
      bank_code: pending.bank_code, banking_username: pending.banking_username,
      verification_token: verified.verification_token } });
  } catch (problem) {
    if (conditionRefused(problem)) return;
    showProblem(otpForm, problem, OTP_FIELD);
    return;
  }
  pending = null;
  await showLinked(link, true);
});

async function resend() {
  clearErrors(otpForm);
  try {
    otpSent((await start(pending)).otp);
    $("#code").focus();
  } catch (problem) {
    if (!conditionRefused(problem)) showProblem(otpForm, problem);
  }
}

async function unlink() {
  try {
    await authed("citizen", "DELETE", "/v1/citizens/me/bank-links");
  } catch (problem) {
    if (problem.code === "BANK_LINK_NOT_FOUND") return showStart(true);
    const box = $("#loi-huy");
    box.textContent = problem.detail;
    box.hidden = false;
    focusOn(box);
    return;
  }
  showStart(true);
}

async function load() {
  try {
    const [profile, current, all] = await Promise.all([authed("citizen", "GET", "/v1/citizens/me"),
      authed("citizen", "GET", "/v1/citizens/me/bank-links"), banks()]);
    phone = profile.phone;
    const select = $("#bank_code");
    fill(select, h("option", { value: "" }, "Chọn ngân hàng"),
      all.filter((b) => b.single_sign_on).map((b) => h("option", { value: b.code }, `${b.short_name} – ${b.name}`)));
    $("#dang-tai").hidden = true;
    if (current.link) await showLinked(current.link, false);
    else showStart(false);
  } catch (problem) {
    $("#dang-tai").hidden = true;
    const box = $("#loi-tai");
    box.textContent = problem.detail;
    box.hidden = false;
  }
}

function wire() {
  $("#gui-lai-otp").addEventListener("click", resend);
  $("#huy-lien-ket").addEventListener("click", () => {
    $("#xac-nhan-huy").hidden = false;
    focusOn($("#xac-nhan-huy-cau-hoi"));
  });
  $("#xac-nhan-huy-khong").addEventListener("click", () => {
    $("#xac-nhan-huy").hidden = true;
    $("#huy-lien-ket").focus();
  });
  $("#xac-nhan-huy-co").addEventListener("click", unlink);
  ready(linkForm.querySelector("[type=submit]"));
  load();
}

if (requireSession("citizen")) wire();
