// Phone change (POST /v1/citizens/me/phone): a code to the NEW phone (POST /v1/otp, purpose phone_change, subject =
// the account id), verified (POST /v1/otp/verify -> a single-use verification token), then the change with the
// current password checked again. A wrong password does not use the token up, so it is kept for the next try.
import { $, focusOn, ready } from "../lib/dom.js";
import { clearErrors, fieldError, onSubmit, showProblem } from "../lib/forms.js";
import { phoneText } from "../lib/account.js";
import { authed, requireSession } from "../lib/session.js";

const phoneForm = $("#form-so-moi");
const confirmForm = $("#form-xac-nhan");
const OTP_FIELD = { OTP_INVALID: "code", OTP_EXPIRED: "code", OTP_USED: "code", OTP_LOCKED: "code",
  PHONE_UNCHANGED: "phone", OTP_PHONE_NOT_ACCOUNT_PHONE: "phone" };
let accountId = null;
let change = null; // {phone, token} of the change under way

function showCurrent(phone) {
  $("#so-hien-tai").textContent = phoneText(phone);
}

onSubmit(phoneForm, "Đang gửi mã…", async ({ phone }) => {
  clearErrors(phoneForm);
  $("#da-doi").hidden = true;
  const number = (phone || "").replace(/[\s.-]/g, "");
  if (!number) return fieldError(phoneForm, "phone", "Vui lòng nhập số điện thoại mới.")?.focus();
  let sent;
  try {
    sent = await authed("citizen", "POST", "/v1/otp",
      { json: { phone: number, purpose: "phone_change", subject: accountId } });
  } catch (problem) {
    showProblem(phoneForm, problem, OTP_FIELD);
    return;
  }
  change = { phone: number, token: null };
  confirmForm.reset();
  clearErrors(confirmForm);
  $("#da-gui-otp").textContent = `Mã OTP đã được gửi đến số ${sent.phone_masked}. Mã có hiệu lực trong ` +
    `${Math.max(1, Math.round(sent.expires_in_s / 60))} phút.`;
  $("#xac-nhan").hidden = false;
  focusOn($("#tieu-de-xac-nhan"));
});

onSubmit(confirmForm, "Đang đổi số…", async ({ code, password }) => {
  clearErrors(confirmForm);
  if (!change.token && !/^\d{6}$/.test(code || "")) {
    return fieldError(confirmForm, "code", "Vui lòng nhập mã OTP gồm 6 chữ số.")?.focus();
  }
  if (!password) return fieldError(confirmForm, "password", "Vui lòng nhập mật khẩu hiện tại.")?.focus();
  try {
    if (!change.token) {
      change.token = (await authed("citizen", "POST", "/v1/otp/verify",
        { json: { phone: change.phone, purpose: "phone_change", subject: accountId, code } })).verification_token;
    }
    const profile = await authed("citizen", "POST", "/v1/citizens/me/phone",
      { json: { phone: change.phone, verification_token: change.token, password } });
    showCurrent(profile.phone);
  } catch (problem) {
    if (problem.code === "VERIFICATION_TOKEN_INVALID") change.token = null; // expired or used: a new code is needed
    showProblem(confirmForm, problem, { ...OTP_FIELD, CURRENT_PASSWORD_WRONG: "password" });
    return;
  }
  change = null;
  phoneForm.reset();
  $("#xac-nhan").hidden = true;
  const done = $("#da-doi");
  done.textContent = `Đã đổi số điện thoại thành ${$("#so-hien-tai").textContent}. Số cũ đã được thông báo bằng tin nhắn.`;
  done.hidden = false;
  focusOn(done);
});

async function start() {
  $("#lam-lai").addEventListener("click", () => {
    change = null;
    $("#xac-nhan").hidden = true;
    $("#phone").focus();
  });
  try {
    const profile = await authed("citizen", "GET", "/v1/citizens/me");
    accountId = profile.account_id;
    showCurrent(profile.phone);
    ready(phoneForm.querySelector("[type=submit]")); // the code's subject is the account id
  } catch (problem) {
    const box = $("#loi-tai");
    box.textContent = problem.detail;
    box.hidden = false;
    ready();
  }
}

if (requireSession("citizen")) start();
