// Staff sign-in (POST /v1/auth/staff/sign-in), the first sign-in's new password (POST /v1/auth/staff/new-password),
// then back to the page that asked (?tiep=, same origin only) or the staff home. On the local stack only, the stack
// publishes its seeded demo users (/local/demo-users.json, absent in AWS): one button per role signs that user in
// through the same API, so nothing is minted outside the user pool.
import { call } from "../lib/api.js";
import { $, fill, focusOn, h, ready } from "../lib/dom.js";
import { fieldError, onSubmit, showProblem, clearErrors } from "../lib/forms.js";
import { HOME_PAGE, returnPath, saveSession } from "../lib/session.js";

const signInForm = $("#form-dang-nhap");
const passwordForm = $("#form-doi-mat-khau");
const ROLE_LABELS = { officer: "Cán bộ một cửa", province_admin: "Quản trị tỉnh", operator: "Quản trị hệ thống" };
let challenge = null; // {username, session} of a first sign-in

function done(answer, username) {
  saveSession("staff", answer, { username });
  location.assign(returnPath(new URLSearchParams(location.search).get("tiep")) || HOME_PAGE.staff);
}

async function signIn({ username, password }) {
  clearErrors(signInForm);
  if (!username) return fieldError(signInForm, "username", "Vui lòng nhập tên đăng nhập.")?.focus();
  if (!password) return fieldError(signInForm, "password", "Vui lòng nhập mật khẩu.")?.focus();
  try {
    const answer = await call("POST", "/v1/auth/staff/sign-in", { json: { username, password } });
    if (!answer.must_change_password) return done(answer, username);
    challenge = { username, session: answer.session };
    $("#dang-nhap").hidden = true;
    $("#doi-mat-khau").hidden = false;
    focusOn($("#tieu-de-doi-mat-khau"));
  } catch (problem) {
    showProblem(signInForm, problem);
  }
}

async function newPassword({ new_password, new_password_again }) {
  clearErrors(passwordForm);
  if (!new_password) return fieldError(passwordForm, "new_password", "Vui lòng nhập mật khẩu mới.")?.focus();
  if (new_password !== new_password_again) {
    return fieldError(passwordForm, "new_password_again", "Hai lần nhập mật khẩu mới không khớp.")?.focus();
  }
  try {
    const answer = await call("POST", "/v1/auth/staff/new-password",
      { json: { username: challenge.username, session: challenge.session, new_password } });
    done(answer, challenge.username);
  } catch (problem) {
    if (problem.code === "SIGN_IN_SESSION_EXPIRED") {
      $("#doi-mat-khau").hidden = true;
      $("#dang-nhap").hidden = false;
    }
    showProblem(problem.code === "SIGN_IN_SESSION_EXPIRED" ? signInForm : passwordForm, problem);
  }
}

async function demoUsers() {
  let listing;
  try {
    const response = await fetch("/local/demo-users.json", { credentials: "omit", cache: "no-store" });
    if (!response.ok || !(response.headers.get("content-type") || "").includes("json")) return;
    listing = await response.json();
  } catch {
    return; // not the local stack
  }
  const staff = (listing.users || []).filter((u) => u.role in ROLE_LABELS);
  if (!staff.length) return;
  fill($("#vai-tro-thu"), staff.map((user) => {
    const button = h("button", { class: "btn btn--secondary", type: "button", "data-role": user.role },
      `Đăng nhập: ${ROLE_LABELS[user.role]} (${user.username})`);
    button.addEventListener("click", () => {
      $("#username").value = user.username;
      $("#password").value = user.password;
      signInForm.requestSubmit();
    });
    return h("li", {}, button);
  }));
  $("#dang-nhap-thu").hidden = false;
}

onSubmit(signInForm, "Đang đăng nhập…", signIn);
onSubmit(passwordForm, "Đang lưu…", newPassword);
ready(signInForm.querySelector("[type=submit]"));
demoUsers();
