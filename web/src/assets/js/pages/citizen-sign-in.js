// Citizen sign-in by ID number and password (POST /v1/auth/sign-in). A new account's first sign-in (the SMS's
// temporary password) answers a challenge instead of tokens: the new password (POST /v1/auth/new-password). A
// forgotten password: a code by SMS to the account's phone (POST /v1/auth/password-reset/otp), then the code and
// a new password (POST /v1/auth/password-reset), then an ordinary sign-in. Afterwards back to the page that asked
// (?tiep=, same origin only) or the account home.
import { call } from "../lib/api.js";
import { $, $$, fill, focusOn, h, ready } from "../lib/dom.js";
import { clearErrors, fieldError, onSubmit, showProblem } from "../lib/forms.js";
import { passwordsAgree, renamed } from "../lib/account.js";
import { HOME_PAGE, returnPath, saveSession } from "../lib/session.js";

const forms = { signIn: $("#form-dang-nhap"), newPassword: $("#form-doi-mat-khau"), code: $("#form-gui-ma"),
  reset: $("#form-dat-lai") };
const steps = { signIn: $("#dang-nhap"), newPassword: $("#doi-mat-khau"), forgot: $("#quen-mat-khau") };
const note = $("#thong-bao-dang-nhap");
let challenge = null; // {id_number, session} of a first sign-in
let resetFor = null; // the ID number a reset code was sent for

function show(step, heading) {
  for (const [name, el] of Object.entries(steps)) el.hidden = name !== step;
  if (heading) focusOn($(heading));
}

function done(answer) {
  saveSession("citizen", answer);
  location.assign(returnPath(new URLSearchParams(location.search).get("tiep")) || HOME_PAGE.citizen);
}

function openForgot() {
  clearErrors(forms.code);
  clearErrors(forms.reset);
  note.hidden = true;
  forms.code.hidden = false;
  forms.reset.hidden = true;
  $("#reset_id_number").value = $("#id_number").value.trim();
  show("forgot", "#tieu-de-quen-mat-khau");
}

async function signIn({ id_number, password }) {
  clearErrors(forms.signIn);
  if (!id_number) return fieldError(forms.signIn, "id_number", "Vui lòng nhập số định danh cá nhân.")?.focus();
  if (!password) return fieldError(forms.signIn, "password", "Vui lòng nhập mật khẩu.")?.focus();
  try {
    const answer = await call("POST", "/v1/auth/sign-in", { json: { id_number, password } });
    if (!answer.must_change_password) return done(answer);
    challenge = { id_number, session: answer.session };
    forms.newPassword.reset();
    clearErrors(forms.newPassword);
    show("newPassword", "#tieu-de-doi-mat-khau");
  } catch (problem) {
    const extra = [];
    if (problem.code === "TEMPORARY_PASSWORD_EXPIRED") {
      const reset = h("button", { class: "btn btn--secondary", type: "button" }, "Đặt lại mật khẩu bằng mã OTP");
      reset.addEventListener("click", openForgot);
      extra.push(h("p", {}, reset));
    }
    showProblem(forms.signIn, problem, {}, extra);
  }
}

async function newPassword(fields) {
  clearErrors(forms.newPassword);
  if (!passwordsAgree(forms.newPassword, fields, "new_password", "new_password_again")) return;
  try {
    done(await call("POST", "/v1/auth/new-password",
      { json: { id_number: challenge.id_number, session: challenge.session, new_password: fields.new_password } }));
  } catch (problem) {
    if (problem.status === 401) { // the challenge session is over (3 minutes): sign in again
      show("signIn");
      showProblem(forms.signIn, problem);
      return;
    }
    showProblem(forms.newPassword, problem);
  }
}

async function sendCode({ reset_id_number }) {
  clearErrors(forms.code);
  if (!reset_id_number) {
    return fieldError(forms.code, "reset_id_number", "Vui lòng nhập số định danh cá nhân.")?.focus();
  }
  try {
    const sent = await call("POST", "/v1/auth/password-reset/otp", { json: { id_number: reset_id_number } });
    resetFor = reset_id_number;
    forms.reset.reset();
    clearErrors(forms.reset);
    fill($("#da-gui-ma"), sent.message, ` Mã có hiệu lực trong ${Math.round(sent.expires_in_s / 60) || 1} phút.`);
    forms.code.hidden = true;
    forms.reset.hidden = false;
    $("#reset_code").focus();
  } catch (problem) {
    showProblem(forms.code, renamed(problem, { id_number: "reset_id_number" }));
  }
}

async function resetPassword(fields) {
  clearErrors(forms.reset);
  if (!/^\d{6}$/.test(fields.reset_code || "")) {
    return fieldError(forms.reset, "reset_code", "Vui lòng nhập mã xác nhận gồm 6 chữ số.")?.focus();
  }
  if (!passwordsAgree(forms.reset, fields, "reset_new_password", "reset_new_password_again")) return;
  try {
    await call("POST", "/v1/auth/password-reset",
      { json: { id_number: resetFor, code: fields.reset_code, new_password: fields.reset_new_password } });
  } catch (problem) {
    showProblem(forms.reset, renamed(problem, { code: "reset_code", new_password: "reset_new_password" }),
      { OTP_INVALID: "reset_code", OTP_EXPIRED: "reset_code", OTP_USED: "reset_code", OTP_LOCKED: "reset_code" });
    return;
  }
  forms.signIn.reset();
  $("#id_number").value = resetFor;
  clearErrors(forms.signIn);
  note.textContent = "Đã đặt lại mật khẩu. Mọi phiên đăng nhập cũ đã kết thúc; vui lòng đăng nhập bằng mật khẩu mới.";
  note.className = "alert alert--ok";
  note.hidden = false;
  show("signIn");
  focusOn(note);
}

onSubmit(forms.signIn, "Đang đăng nhập…", signIn);
onSubmit(forms.newPassword, "Đang lưu…", newPassword);
onSubmit(forms.code, "Đang gửi mã…", sendCode);
onSubmit(forms.reset, "Đang đặt lại…", resetPassword);
const forgot = $("#mo-quen-mat-khau");
forgot.addEventListener("click", openForgot);
for (const back of $$("[data-back]")) back.addEventListener("click", () => show("signIn", "#tieu-de-dang-nhap"));
ready(forms.signIn.querySelector("[type=submit]"), forgot);
